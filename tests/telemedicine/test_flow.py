"""The booking's one transition table (services.flow.BOOKING_FLOW): a step it forbids is a 409
"invalid_transition" that writes nothing; the sweep and the reschedule go through it and leave one
event and one audit row per booking moved."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import OperationalError

from core.models import AuditEntry
from core.transitions import StateMachine
from notifications.models import Notification
from telemedicine.models import BookingEvent, ConsultBooking, ConsultOutcome, Slot
from telemedicine.services.flow import BOOKING_FLOW
from telemedicine.services.sweeps import bookings_sweep_past
from tests.conftest import api_as
from tests.telemedicine.conftest import SHANGHAI, TOMORROW
from tests.telemedicine.factories import booking_payload, make_slot, village_doctor

URL = "/api/v1/teleconsult/bookings/"
pytestmark = pytest.mark.django_db
Status = ConsultBooking.Status


def book(user, slot, **overrides) -> ConsultBooking:
    response = api_as(user).post(URL, booking_payload(slot, **overrides), format="json")
    assert response.status_code == 201, response.content
    return ConsultBooking.objects.get(pk=response.json()["id"])


def act(user, booking, action, data=None):
    return api_as(user).post(f"{URL}{booking.pk}/{action}/", data or {}, format="json")


def audit_of(booking):
    return AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(ConsultBooking), object_id=str(booking.pk))


def written(booking, *, slots=None) -> dict:
    """Everything a step could write about the booking (and the places of `slots`, all by default)."""
    row = ConsultBooking.objects.filter(pk=booking.pk).values().get()
    return {
        "booking": row,
        "events": list(BookingEvent.objects.filter(booking=booking).values_list("pk", flat=True)),
        "audit": list(audit_of(booking).values_list("pk", flat=True)),
        "notifications": list(Notification.objects.filter(object_id=booking.pk).values_list("pk", "status")),
        "slots": list(Slot.objects.filter(**({} if slots is None else {"pk__in": slots})).order_by("pk").values_list("pk", "booked")),
        "outcomes": ConsultOutcome.objects.filter(booking=booking).count(),
    }


def test_the_table_is_the_one_declared():
    assert {state: BOOKING_FLOW.targets(state) for state in Status.values} == {
        "requested": {"confirmed", "declined", "cancelled", "requested"},
        "confirmed": {"in_progress", "cancelled", "no_show", "requested"},  # once confirmed, cancelled (not declined)
        "in_progress": {"completed"},
        "declined": set(),
        "completed": set(),
        "cancelled": set(),
        "no_show": set(),
    }


COMPLETE = {"findings": "血压偏高", "advice": "低盐饮食"}
FORBIDDEN = [
    # (state the booking is in, who acts, action, body)
    (Status.REQUESTED, "consultant", "start", None),
    (Status.REQUESTED, "consultant", "complete", COMPLETE),
    (Status.CONFIRMED, "consultant", "confirm", None),
    (Status.CONFIRMED, "consultant", "complete", COMPLETE),
    (Status.CONFIRMED, "consultant", "decline", {"reason": "改天吧"}),
    (Status.IN_PROGRESS, "consultant", "decline", {"reason": "太晚了"}),
    (Status.IN_PROGRESS, "doctor", "cancel", {"reason": "不需要了"}),
    (Status.CANCELLED, "consultant", "confirm", None),
    (Status.DECLINED, "consultant", "start", None),
    (Status.COMPLETED, "doctor", "cancel", {"reason": "不需要了"}),
    (Status.NO_SHOW, "doctor", "reschedule", "new slot"),
]


@pytest.mark.parametrize(("state", "who", "action", "body"), FORBIDDEN)
def test_a_step_the_table_forbids_is_409_invalid_transition_and_writes_nothing(
    doctor_user, consultant, slot, clock, state, who, action, body
):
    booking = book(doctor_user, slot)
    ConsultBooking.objects.filter(pk=booking.pk).update(status=state)
    if body == "new slot":
        body = {"slot": make_slot(consultant, TOMORROW, 11).pk}
    before = written(booking)

    response = act(consultant.user if who == "consultant" else doctor_user, booking, action, body)

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["state"] == state
    label = str(Status(state).label)
    assert f"当前状态为“{label}”" in response.json()["detail"]
    assert written(booking) == before


def test_the_refusal_comes_before_the_time_rules(doctor_user, consultant, slot, clock):
    """A consult already started is refused for its state, not for the cancel window."""
    booking = book(doctor_user, slot)
    ConsultBooking.objects.filter(pk=booking.pk).update(status=Status.IN_PROGRESS)
    clock.move_to(booking.starts_at)
    response = act(doctor_user, booking, "cancel", {"reason": "有事"})
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_the_page_shows_only_the_steps_the_table_allows(client, doctor_user, consultant, slot, clock):
    booking = book(doctor_user, slot)
    client.force_login(consultant.user)
    page = client.get(f"/m/consult/{booking.pk}/").content.decode()
    assert f"/m/consult/{booking.pk}/confirm/" in page and f"/m/consult/{booking.pk}/start/" not in page
    ConsultBooking.objects.filter(pk=booking.pk).update(status=Status.CONFIRMED)
    page = client.get(f"/m/consult/{booking.pk}/").content.decode()
    assert f"/m/consult/{booking.pk}/confirm/" not in page and f"/m/consult/{booking.pk}/decline/" not in page
    assert f"/m/consult/{booking.pk}/start/" not in page and 'id="start-note"' in page  # too early to start
    clock.move_to(booking.starts_at)
    client.force_login(consultant.user)
    page = client.get(f"/m/consult/{booking.pk}/").content.decode()
    assert f"/m/consult/{booking.pk}/start/" in page


def test_a_refused_step_on_the_page_is_a_message(client, doctor_user, consultant, slot, clock):
    booking = book(doctor_user, slot)
    ConsultBooking.objects.filter(pk=booking.pk).update(status=Status.CANCELLED)
    client.force_login(consultant.user)
    page = client.post(f"/m/consult/{booking.pk}/confirm/", follow=True).content.decode()
    assert "当前状态为“已取消”" in page
    assert ConsultBooking.objects.get(pk=booking.pk).status == Status.CANCELLED


def test_sweep_writes_one_event_and_one_audit_row_per_booking_moved(doctor_user, consultant, clock, settings):
    settings.TELECONSULT_NO_SHOW_GRACE_MINUTES = 30
    other = village_doctor(username="vd_sweep")
    at = {hour: make_slot(consultant, TOMORROW, hour) for hour in (9, 10, 11, 14, 15)}
    later = make_slot(consultant, TOMORROW + datetime.timedelta(days=1), 9)
    no_show_a = book(doctor_user, at[9])
    no_show_b = book(other, at[10], patient_name="罗阿婆")
    expired = book(doctor_user, at[11], patient_name="黄大山", patient_sex="M")
    started = book(doctor_user, at[14], patient_name="韦三", patient_sex="M")
    cancelled = book(doctor_user, at[15], patient_name="陆四", patient_sex="M")
    future = book(other, later, patient_name="岑五", patient_sex="M")
    for booking in (no_show_a, no_show_b, future):
        assert act(consultant.user, booking, "confirm").status_code == 200
    assert act(consultant.user, started, "confirm").status_code == 200
    assert act(doctor_user, cancelled, "cancel", {"reason": "好转"}).status_code == 200
    clock.move_to(started.starts_at)
    assert act(consultant.user, started, "start").status_code == 200
    untouched = [started, cancelled, future]
    before = {b.pk: written(b, slots=[b.slot_id]) for b in untouched}
    events_before = {b.pk: BookingEvent.objects.filter(booking=b).count() for b in (no_show_a, no_show_b, expired)}
    audit_before = {b.pk: audit_of(b).count() for b in (no_show_a, no_show_b, expired)}
    clock.move_to(datetime.datetime.combine(TOMORROW, datetime.time(20), tzinfo=SHANGHAI))

    report = bookings_sweep_past()

    assert (report.no_show, report.expired) == (2, 1)
    for booking, kind, status in ((no_show_a, "no_show", "confirmed"), (no_show_b, "no_show", "confirmed"), (expired, "cancelled", "requested")):
        booking.refresh_from_db()
        assert booking.status == kind and booking.finished_at is not None
        new_events = BookingEvent.objects.filter(booking=booking).order_by("pk")[events_before[booking.pk]:]
        assert [(e.kind, e.from_status, e.to_status, e.actor_id) for e in new_events] == [(kind, status, kind, None)]
        new_audit = audit_of(booking).order_by("pk")[audit_before[booking.pk]:]
        assert [(a.action, a.changes["status"], a.actor_id) for a in new_audit] == [
            (f"teleconsult.booking.{kind}", [status, kind], None)
        ]
    assert expired.cancelled_by_side == "system" and Slot.objects.get(pk=expired.slot_id).booked == 0
    assert Slot.objects.get(pk=no_show_a.slot_id).booked == 1  # a no-show keeps its place
    for booking in untouched:
        assert written(booking, slots=[booking.slot_id]) == before[booking.pk]
    # a second run moves nothing and writes nothing
    events, audit = BookingEvent.objects.count(), AuditEntry.objects.count()
    assert bookings_sweep_past() == type(report)(no_show=0, expired=0)
    assert (BookingEvent.objects.count(), AuditEntry.objects.count()) == (events, audit)


@pytest.fixture
def machine_calls(monkeypatch):
    """Every single-row step taken through a StateMachine: (audit prefix, kind)."""
    calls = []
    original = StateMachine.transition

    def spy(self, row, **kwargs):
        calls.append((self.audit_prefix, kwargs.get("kind")))
        return original(self, row, **kwargs)

    monkeypatch.setattr(StateMachine, "transition", spy)
    return calls


def test_reschedule_goes_through_the_machine(doctor_user, consultant, slot, clock, machine_calls):
    booking = book(doctor_user, slot)
    assert act(consultant.user, booking, "confirm").status_code == 200
    new_slot = make_slot(consultant, TOMORROW, 10)

    response = act(doctor_user, booking, "reschedule", {"slot": new_slot.pk, "reason": "上午要做检查"})

    assert response.status_code == 200, response.content
    assert machine_calls == [("teleconsult.booking", "confirmed"), ("teleconsult.booking", "rescheduled")]
    event = BookingEvent.objects.get(booking=booking, kind="rescheduled")
    assert (event.from_status, event.to_status, event.from_slot_id, event.to_slot_id, event.note) == (
        "confirmed", "requested", slot.pk, new_slot.pk, "上午要做检查"
    )
    entry = audit_of(booking).get(action="teleconsult.booking.rescheduled")
    assert entry.actor == doctor_user and entry.reason == "上午要做检查"
    assert entry.changes["status"] == ["confirmed", "requested"]
    assert entry.changes["slot"] == [slot.pk, new_slot.pk]
    booking.refresh_from_db()
    assert (booking.slot_id, booking.status, booking.confirmed_at, booking.reschedule_count) == (new_slot.pk, "requested", None, 1)


def test_every_step_a_person_takes_goes_through_the_machine(doctor_user, consultant, slot, clock, machine_calls):
    first, second = book(doctor_user, slot), book(doctor_user, make_slot(consultant, TOMORROW, 10), patient_name="罗阿婆")
    act(consultant.user, first, "confirm")
    clock.move_to(first.starts_at)
    act(consultant.user, first, "start")
    act(consultant.user, first, "complete", COMPLETE)
    act(consultant.user, second, "decline", {"reason": "请直接到急诊"})
    third = book(doctor_user, make_slot(consultant, TOMORROW, 15), patient_name="韦三")
    act(doctor_user, third, "cancel", {"reason": "好转"})
    assert [kind for _prefix, kind in machine_calls] == ["confirmed", "started", "completed", "declined", "cancelled"]


def test_a_busy_database_is_409_busy_with_the_booking_message(doctor_user, consultant, slot, clock, monkeypatch):
    from telemedicine.services import bookings

    attempts = []

    def locked(**kwargs):
        attempts.append(1)
        raise OperationalError("database is locked")

    booking = book(doctor_user, slot)
    monkeypatch.setattr(bookings, "booking_confirm", locked)
    response = act(consultant.user, booking, "confirm")
    assert response.status_code == 409
    assert response.json() == {"code": "busy", "detail": "其他人正在预约同一时段，请刷新时段列表后重试。", "fields": {}}
    assert len(attempts) == 3  # core.retry's attempts


def test_a_busy_database_on_the_page_is_a_message(client, doctor_user, consultant, slot, clock, monkeypatch):
    from telemedicine.services import bookings

    def locked(**kwargs):
        raise OperationalError("database is locked")

    booking = book(doctor_user, slot)
    monkeypatch.setattr(bookings, "booking_confirm", locked)
    client.force_login(consultant.user)
    page = client.post(f"/m/consult/{booking.pk}/confirm/", follow=True)
    assert page.status_code == 200
    assert "其他人正在预约同一时段" in page.content.decode()


def test_the_conflict_body_is_documented(client, county_admin):
    client.force_login(county_admin)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/teleconsult/bookings/{id}/confirm/"]["post"]
    ref = operation["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"detail", "code"} <= set(body["required"])
    assert "state" in body["properties"]
    code_ref = body["properties"]["code"]["allOf"][0]["$ref"]
    assert code_ref == "#/components/schemas/ConsultConflictCodeEnum"
    choices = schema["components"]["schemas"]["ConsultConflictCodeEnum"]["enum"]
    assert {"invalid_transition", "slot_full", "patient_overlap", "busy"} <= set(choices)
