"""The health checks: each answers whether one part of the deployment works, with the figures an
operator needs and no secret (no URL, no password, no host of the database).

- database: a query answers.
- broker: a connection to the Celery broker opens within HEALTH_BROKER_TIMEOUT_SECONDS.
- worker: a worker ran the beat-scheduled heartbeat task (it writes `Heartbeat("worker")`)
  within HEALTH_WORKER_MAX_AGE_SECONDS.
- beat: beat sent a periodic task within HEALTH_BEAT_MAX_AGE_SECONDS: django-celery-beat's
  last_run_at (saved every few minutes, hence the margin) or the worker's heartbeat (a task only
  beat sends), whichever is newer.
- outbox: the oldest due message has waited less than HEALTH_OUTBOX_MAX_DELAY_SECONDS.

A check is registered with `register_check(name, func)`; `func()` returns a dict of figures or
raises `CheckFailed` with a short reason (English for the log, the page translates its name).
"""

import dataclasses
import logging
import socket
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


class CheckFailed(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    label: object
    func: Callable[[], dict]


CHECKS: dict[str, Check] = {}


def register_check(name: str, label, func: Callable[[], dict]) -> None:
    CHECKS[name] = Check(name=name, label=label, func=func)


def _age_seconds(at) -> float | None:
    return None if at is None else round((timezone.now() - at).total_seconds(), 1)


def check_database() -> dict:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"latency_ms": round(1000 * (time.monotonic() - started), 1)}


def check_broker() -> dict:
    from celery import current_app as app

    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.HEALTH_BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # the broker's own error may name its host and password
        raise CheckFailed(f"broker unreachable ({type(exc).__name__})") from None
    return {"latency_ms": round(1000 * (time.monotonic() - started), 1)}


def check_worker() -> dict:
    from operations.models import Heartbeat

    beat = Heartbeat.objects.filter(component="worker").first()
    age = _age_seconds(beat.at if beat else None)
    limit = settings.HEALTH_WORKER_MAX_AGE_SECONDS
    if age is None:
        raise CheckFailed("no worker heartbeat yet")
    if age > limit:
        raise CheckFailed(f"last worker heartbeat {age:.0f} s ago (limit {limit} s)")
    return {"heartbeat_age_seconds": age, "limit_seconds": limit}


def check_beat() -> dict:
    from django.db.models import Max
    from django_celery_beat.models import PeriodicTask

    from operations.models import Heartbeat

    # beat saves last_run_at only every few minutes; the worker's heartbeat comes from a task that
    # only beat sends, so a fresh one proves beat ran too.
    saved = PeriodicTask.objects.filter(enabled=True).aggregate(last=Max("last_run_at"))["last"]
    heartbeat = Heartbeat.objects.filter(component="worker").values_list("at", flat=True).first()
    last = max((at for at in (saved, heartbeat) if at is not None), default=None)
    age = _age_seconds(last)
    limit = settings.HEALTH_BEAT_MAX_AGE_SECONDS
    if age is None:
        raise CheckFailed("beat has not run a periodic task yet")
    if age > limit:
        raise CheckFailed(f"beat last ran a task {age:.0f} s ago (limit {limit} s)")
    return {"last_run_age_seconds": age, "limit_seconds": limit}


def check_outbox() -> dict:
    from notifications.retention import oldest_due_at

    age = _age_seconds(oldest_due_at())
    limit = settings.HEALTH_OUTBOX_MAX_DELAY_SECONDS
    if age is not None and age > limit:
        raise CheckFailed(f"oldest due message waiting {age:.0f} s (limit {limit} s)")
    return {"oldest_due_age_seconds": age, "limit_seconds": limit}


register_check("database", _("Database"), check_database)
register_check("broker", _("Message broker"), check_broker)
register_check("worker", _("Worker"), check_worker)
register_check("beat", _("Scheduler (beat)"), check_beat)
register_check("outbox", _("Notification outbox"), check_outbox)


def run_checks(only=None) -> dict:
    """{"healthy": bool, "checks": {name: {"ok": bool, "label", "seconds", ...figures or "error"}}}."""
    names = [n for n in CHECKS if not only or n in only]
    results = {}
    for name in names:
        check = CHECKS[name]
        started = time.monotonic()
        try:
            figures = check.func()
            result = {"ok": True, **figures}
        except CheckFailed as exc:
            result = {"ok": False, "error": str(exc)}
        except Exception as exc:  # a check must never take the endpoint down with it
            logger.exception("health check %s raised", name)
            result = {"ok": False, "error": f"check raised {type(exc).__name__}"}
        if not result["ok"]:
            logger.warning("health check %s failed: %s", name, result["error"])
        result["label"] = str(check.label)
        result["seconds"] = round(time.monotonic() - started, 3)
        results[name] = result
    return {"healthy": all(r["ok"] for r in results.values()), "checks": results}


def record_heartbeat(component: str) -> None:
    from operations.models import Heartbeat

    Heartbeat.objects.update_or_create(component=component, defaults={"at": timezone.now(), "host": socket.gethostname()[:200]})
