"""No request waits for the broker: with the broker unreachable, a booking answers at once (the
after-commit nudge is bounded, then paused), its outbox row is committed and beat's sweep sends it."""

import datetime
import time
import zoneinfo

import pytest
import time_machine

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
    services._nudge_state.update(paused_until=0.0, in_flight=False)
    with time_machine.travel(datetime.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI), tick=True):
        yield celery_app
    services._nudge_state.update(paused_until=0.0, in_flight=False)


def _warm_up(settings, django_capture_on_commit_callbacks) -> None:
    """One booking without the nudge first, so the figures below are not the first request's imports."""
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = False
    _book(99, django_capture_on_commit_callbacks)
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = True


def _book(n: int, django_capture_on_commit_callbacks) -> tuple[float, int]:
    consultant = consultant_with_login(username=f"dr_{n}")
    doctor = village_doctor(username=f"vd_{n}")
    slot = make_slot(consultant, datetime.date(2026, 12, 2), 9, 0)
    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(doctor).post(URL, booking_payload(slot), format="json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.content
    booking_id = response.json()["id"]
    queued = Notification.objects.filter(kind="consult_booked", object_id=booking_id, status="pending").count()
    return elapsed, queued


def test_a_booking_with_the_broker_unreachable_answers_quickly_and_keeps_its_outbox_row(
    broker_down, settings, django_capture_on_commit_callbacks, capsys
):
    _warm_up(settings, django_capture_on_commit_callbacks)
    timings = []
    for n in range(3):
        elapsed, queued = _book(n, django_capture_on_commit_callbacks)
        assert queued >= 1  # committed; beat's dispatch_due sends it once the broker is back
        timings.append(elapsed)
    assert max(timings) < 1.5, timings
    with capsys.disabled():
        print(f"\nbooking with the broker unreachable: {', '.join(f'{t:.3f}s' for t in timings)}")


def test_without_the_bound_the_same_booking_waits_for_the_broker(broker_down, settings, django_capture_on_commit_callbacks, capsys):
    """The figure before the change: the nudge allowed to wait as long as the publish takes."""
    _warm_up(settings, django_capture_on_commit_callbacks)
    settings.NOTIFICATIONS_NUDGE_TIMEOUT_SECONDS = 60
    elapsed, queued = _book(9, django_capture_on_commit_callbacks)
    assert queued >= 1
    with capsys.disabled():
        print(f"\nbooking with the broker unreachable, nudge unbounded: {elapsed:.3f}s")


def test_a_hanging_broker_costs_one_bounded_wait_then_the_nudge_pauses(settings, monkeypatch):
    """The publish hangs (a broker that takes the connection and never answers): the caller waits
    the bound once; during the pause no nudge is tried at all; after it, one is tried again."""
    from notifications.tasks import dispatch_due_notifications_task

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.NOTIFICATIONS_NUDGE_TIMEOUT_SECONDS = 0.2
    settings.NOTIFICATIONS_NUDGE_PAUSE_SECONDS = 30
    services._nudge_state.update(paused_until=0.0, in_flight=False)
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
    services._nudge_state["paused_until"] = 0.0
    monkeypatch.setattr(dispatch_due_notifications_task, "apply_async", lambda **kwargs: calls.append(kwargs))
    services._enqueue_dispatch()
    assert len(calls) == 2 and not services._nudge_paused()
