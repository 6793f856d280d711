"""Handing a message to the broker from a request without waiting for the broker.

`publish_bounded(send, what=..., key=...)` calls `send()` (a task's `apply_async`) in a thread and
waits for it at most BROKER_PUBLISH_TIMEOUT_SECONDS. After a publish that failed or did not finish
in time, none is tried for BROKER_PUBLISH_PAUSE_SECONDS, so a broker that is down or hangs costs one
short wait per pause, not one per request (with an unreachable Redis a publish took about 6 s).

A caller has already committed what the message is about (the outbox row, the queued job) and beat
sweeps what was not sent (`notifications.dispatch_due`, `core.jobs.requeue_stale_jobs`), so a
publish skipped or given up loses nothing. A `key` names a message of which one on its way is
enough (the dispatch nudge): while one with that key is in flight, another is not tried.
With CELERY_TASK_ALWAYS_EAGER (or the Celery app's `task_always_eager`) there is no broker:
`send()` runs the task here, in the caller's thread, waited for."""

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# `generation` counts resets: a publish that fails after a reset it started before (a thread left
# trying a dead broker) does not pause the publishes of the broker that is back.
_state: dict = {"paused_until": 0.0, "in_flight": set(), "generation": 0}


def publish_paused(key: str | None = None) -> bool:
    """True while publishes are paused after a failure, or one with `key` is on its way."""
    with _lock:
        return time.monotonic() < _state["paused_until"] or (key is not None and key in _state["in_flight"])


def publish_reset() -> None:
    """Forget the pause and the messages in flight (tests; a process that knows the broker is back)."""
    with _lock:
        _state["paused_until"] = 0.0
        _state["in_flight"].clear()
        _state["generation"] += 1


def _pause(generation: int | None = None) -> None:
    """Pause publishes; `generation`: only if no reset came since the failing publish started."""
    with _lock:
        if generation is None or generation == _state["generation"]:
            _state["paused_until"] = time.monotonic() + settings.BROKER_PUBLISH_PAUSE_SECONDS


def _eager() -> bool:
    """No broker: the task runs in the caller (the setting, or the Celery app's own switch)."""
    from celery import current_app

    return bool(settings.CELERY_TASK_ALWAYS_EAGER or current_app.conf.task_always_eager)


def _send(send: Callable[[], object], what: str, key: str | None, outcome: dict, *, pause: bool = True,
          generation: int | None = None) -> None:
    try:
        send()
        outcome["sent"] = True
    except Exception as exc:  # the broker is down: what the message is about is committed, beat sends it
        if pause:
            _pause(generation)
        logger.warning("could not reach the broker for %s (%s); beat's next sweep sends it", what, exc)
    finally:
        if key is not None:
            with _lock:
                if generation is None or generation == _state["generation"]:  # not a newer one's key
                    _state["in_flight"].discard(key)


def publish_bounded(send: Callable[[], object], *, what: str, key: str | None = None) -> bool:
    """Publish with `send()`, waiting at most BROKER_PUBLISH_TIMEOUT_SECONDS. True when the broker
    took it in time; False when it failed, timed out (the thread may still finish it) or was
    skipped (paused, or `key` in flight)."""
    outcome: dict = {}
    if _eager():
        _send(send, what, None, outcome, pause=False)  # here, in this thread and its transaction
        return outcome.get("sent", False)
    with _lock:
        skipped = time.monotonic() < _state["paused_until"] or (key is not None and key in _state["in_flight"])
        if not skipped and key is not None:
            _state["in_flight"].add(key)
        generation = _state["generation"]
    if skipped:
        logger.info("%s not published (the broker failed a moment ago, or one is on its way); beat sends it", what)
        return False
    worker = threading.Thread(target=_send, args=(send, what, key, outcome), kwargs={"generation": generation},
                              name=f"publish: {what}", daemon=True)
    worker.start()
    worker.join(settings.BROKER_PUBLISH_TIMEOUT_SECONDS)
    if worker.is_alive():
        _pause()
        logger.warning("the broker did not take %s within %ss; beat's next sweep sends it", what, settings.BROKER_PUBLISH_TIMEOUT_SECONDS)
        return False
    return outcome.get("sent", False)
