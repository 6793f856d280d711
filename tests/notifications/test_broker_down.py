"""No request waits for the broker (core.broker): with the broker unreachable, a booking answers at
once (the after-commit nudge is bounded, then paused), its outbox row is committed and beat's sweep
sends it; a job started meanwhile stays queued, and beat's requeue sends it once the broker is back."""

import datetime
import math
import statistics
import time
import zoneinfo

import pytest
import time_machine

from core import broker, jobs
from core.models import Job
from notifications import services
from notifications.models import Notification
from tests.conftest import api_as
from tests.notifications.test_reliability import _point_broker, celery_app  # noqa: F401 - the fixture
from tests.telemedicine.factories import booking_payload, consultant_with_login, make_slot, village_doctor

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
URL = "/api/v1/teleconsult/bookings/"
CLOSED_PORT = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def broker_down(celery_app, settings, roles):  # noqa: F811
    from staffing.rosters.models import CalendarYear

    CalendarYear.objects.get_or_create(year=2026)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = True
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _point_broker(celery_app, CLOSED_PORT)
    assert celery_app.connection_for_write().port == 1  # really unreachable, whatever CELERY_BROKER_URL says
    broker.publish_reset()
    with time_machine.travel(datetime.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI), tick=True):
        yield celery_app
    broker.publish_reset()


@pytest.fixture
def booker(broker_down, settings, transactional_db):
    """One consultant and one village doctor; `booker(n)` books the n-th slot (20 minutes apart,
    from 2 December) and returns the seconds the request took and the booking's outbox rows.
    Transactional: each booking really commits, so its after-commit nudge runs as in production
    (a captured on-commit list would keep the first nudge and let no later one be queued)."""
    consultant = consultant_with_login(username="dr_broker")
    doctor = api_as(village_doctor(username="vd_broker"))

    def book(n: int) -> tuple[float, int]:
        day = datetime.date(2026, 12, 2) + datetime.timedelta(days=n // 24)
        slot = make_slot(consultant, day, 8 + (n % 24) // 3, 20 * (n % 3))
        started = time.perf_counter()
        response = doctor.post(URL, booking_payload(slot), format="json")
        elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.content
        queued = Notification.objects.filter(kind="consult_booked", object_id=response.json()["id"], status="pending").count()
        return elapsed, queued

    # One booking without the nudge first, so the figures are not the first request's imports.
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = False
    book(0)
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = True
    return book


BOOKINGS = 50


def _figures(timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return (f"n={len(ordered)} min {ordered[0] * 1000:.0f} ms, median {statistics.median(ordered) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")  # fmt: skip


def _reachable(app, settings) -> None:
    """The broker the settings configure (Redis in CI's second pass, else the filesystem one)."""
    _point_broker(app, settings.CELERY_BROKER_URL)
    app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS


def test_bookings_with_the_broker_unreachable_answer_as_fast_as_with_it_and_keep_their_outbox_rows(
    broker_down, booker, settings, capsys, monkeypatch
):
    """50 bookings with nothing listening on the broker's port, then 50 with the configured broker:
    the broker is tried once in the first run (that booking pays the bounded wait, then the nudge
    pauses), the rest answer as with a broker, and every booking's outbox row is committed for
    beat's sweep."""
    from notifications.tasks import dispatch_due_notifications_task

    tried = []
    publish = dispatch_due_notifications_task.apply_async
    monkeypatch.setattr(dispatch_due_notifications_task, "apply_async", lambda **kw: tried.append(1) or publish(**kw))
    down = []
    for n in range(1, BOOKINGS + 1):
        elapsed, queued = booker(n)
        assert queued >= 1  # committed; beat's dispatch_due sends it once the broker is back
        down.append(elapsed)
    _reachable(broker_down, settings)
    tried_down = len(tried)
    broker.publish_reset()
    up = []
    for n in range(BOOKINGS + 1, 2 * BOOKINGS + 1):
        elapsed, queued = booker(n)
        assert queued >= 1
        up.append(elapsed)
    with capsys.disabled():
        print(f"\nbookings, broker unreachable ({CLOSED_PORT}): {_figures(down)}")
        print(f"bookings, broker reachable ({settings.CELERY_BROKER_URL.split('://')[0]}): {_figures(up)}")
    bound = settings.BROKER_PUBLISH_TIMEOUT_SECONDS
    assert max(down) < bound + 1.5, down  # one bounded wait at most, never the ~6 s of a connect retry
    assert tried_down == 1 and len(tried) > tried_down  # down: one try, then paused; up: nudged again
    assert statistics.median(down) < 2 * statistics.median(up) + 0.1, (down, up)


def test_without_the_bound_the_same_booking_waits_for_the_broker(booker, settings, capsys):
    """The figure before the change: the nudge allowed to wait as long as the publish takes."""
    settings.BROKER_PUBLISH_TIMEOUT_SECONDS = 60
    elapsed, queued = booker(1)
    assert queued >= 1
    with capsys.disabled():
        print(f"\nbooking with the broker unreachable, nudge unbounded: {elapsed:.3f}s")


def test_a_hanging_broker_costs_one_bounded_wait_then_the_nudge_pauses(settings, monkeypatch):
    """The publish hangs (a broker that takes the connection and never answers): the caller waits
    the bound once; during the pause no nudge is tried at all; after it, one is tried again."""
    from notifications.tasks import dispatch_due_notifications_task

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.BROKER_PUBLISH_TIMEOUT_SECONDS = 0.2
    settings.BROKER_PUBLISH_PAUSE_SECONDS = 30
    broker.publish_reset()
    calls = []

    def hang(**kwargs):
        calls.append(kwargs)
        time.sleep(1)

    monkeypatch.setattr(dispatch_due_notifications_task, "apply_async", hang)
    started = time.perf_counter()
    services._enqueue_dispatch()
    assert 0.2 <= time.perf_counter() - started < 0.5
    started = time.perf_counter()
    services._enqueue_dispatch()  # paused: returns at once, the broker is not tried
    # well under the 0.2 s bound it would have waited (a loaded CI worker took 0.07 s to log)
    assert time.perf_counter() - started < 0.15 and len(calls) == 1
    time.sleep(1.1)  # the hanging publish ends; the pause is over once its time has passed
    broker.publish_reset()
    monkeypatch.setattr(dispatch_due_notifications_task, "apply_async", lambda **kwargs: calls.append(kwargs))
    services._enqueue_dispatch()
    assert len(calls) == 2 and not broker.publish_paused()


def test_a_job_started_with_the_broker_unreachable_answers_at_once_and_is_sent_by_beat_later(
    broker_down, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """A job's start (an import, a pay run) publishes after commit like the nudge: bounded, then
    paused; the job stays queued and beat's `requeue_stale_jobs` sends it once the broker is back."""
    jobs.register_job("tests.broker_down", label="断网测试")(lambda **kwargs: {})
    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        first = jobs.start_job("tests.broker_down", params={"n": 1})
    with django_capture_on_commit_callbacks(execute=True):
        second = jobs.start_job("tests.broker_down", params={"n": 2})  # paused: not even tried
    assert time.perf_counter() - started < settings.BROKER_PUBLISH_TIMEOUT_SECONDS + 1.5
    assert {first.status, second.status} == {Job.Status.QUEUED}

    sent = []
    monkeypatch.setattr(jobs.run_job_task, "apply_async", lambda args, **kwargs: sent.append(args[0]))
    broker.publish_reset()  # the broker is back (the pause has run out)
    with time_machine.travel(datetime.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI) + datetime.timedelta(
        seconds=settings.JOBS_LEASE_SECONDS + 60
    )):  # fmt: skip
        assert jobs.requeue_stale_jobs() == 2
    assert sorted(sent) == sorted([first.pk, second.pk])


def test_a_publish_left_trying_a_dead_broker_does_not_pause_the_one_that_is_back(settings):
    """A publish that timed out keeps trying in its thread; when it finally fails after a reset (the
    broker is back), its failure must not pause the publishes made since."""
    import threading

    from celery import current_app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.BROKER_PUBLISH_TIMEOUT_SECONDS = 0.05
    release, failed = threading.Event(), threading.Event()

    def dead_broker():
        release.wait(5)
        failed.set()
        raise ConnectionRefusedError("nothing listens")

    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    broker.publish_reset()
    try:
        assert broker.publish_bounded(dead_broker, what="stale nudge", key="nudge") is False  # timed out
        assert broker.publish_paused()
        broker.publish_reset()  # the broker is back
        release.set()
        assert failed.wait(5)
        for _ in range(50):  # the stale thread's failure handled
            time.sleep(0.01)
        assert not broker.publish_paused(), "a failure from before the reset paused the broker that is back"
        assert broker.publish_bounded(lambda: None, what="fresh", key="nudge") is True
    finally:
        current_app.conf.task_always_eager = eager
        broker.publish_reset()
