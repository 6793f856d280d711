"""requested → confirmed | declined → in progress → completed (outcome) | cancelled | no-show;
reschedule keeps history; every change is an event and an audit entry."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType

from clinics.models import Department
from core.models import AuditEntry
from notifications.models import Notification
from telemedicine.models import BookingEvent, ConsultBooking, Slot
from telemedicine.services.sweeps import bookings_sweep_past
from telemedicine.tasks import sweep_past_consults_task
from tests.conftest import api_as
from tests.telemedicine.conftest import NOW, TOMORROW
from tests.telemedicine.factories import ConsultantFactory, booking_payload, make_slot

URL = "/api/v1/teleconsult/bookings/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(doctor_user, slot):
    response = api_as(doctor_user).post(URL, booking_payload(slot), format="json")
    assert response.status_code == 201
    return ConsultBooking.objects.get(pk=response.json()["id"])


def act(user, booking, action, data=None):
    return api_as(user).post(f"{URL}{booking.pk}/{action}/", data or {}, format="json")


def test_full_happy_path_with_outcome_and_referral(booking, consultant, doctor_user, clock):
    referral_dept = Department.objects.create(facility=consultant.department.facility, name="外科", code="SUR")

    confirmed = act(consultant.user, booking, "confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    # reminders 24 h and 30 min before for both sides (the 24 h one is in the future: start is 25 h away)
    reminders = Notification.objects.filter(object_id=booking.pk, kind__startswith="consult_reminder")
    assert {(n.kind, n.recipient_id) for n in reminders} == {
        (k, u) for k in ("consult_reminder_24h", "consult_reminder_30m") for u in (doctor_user.pk, consultant.user_id)
    }
    assert min(n.scheduled_for for n in reminders if n.kind == "consult_reminder_24h") == booking.starts_at - datetime.timedelta(hours=24)

    too_early = act(consultant.user, booking, "start")
    assert too_early.status_code == 400
    assert "最早可在 08:50 开始" in too_early.json()["detail"]

    clock.move_to(booking.starts_at - datetime.timedelta(minutes=5))
    assert act(consultant.user, booking, "start").json()["status"] == "in_progress"

    incomplete = act(consultant.user, booking, "complete", {"findings": "血压偏高", "advice": "", "referral": True})
    assert incomplete.status_code == 400

    done = act(
        consultant.user,
        booking,
        "complete",
        {
            "findings": "血压 170/100，无神经系统体征",
            "advice": "低盐饮食，监测血压",
            "medication_advice": "氨氯地平 5 mg 每日一次",
            "referral": True,
            "referral_department": referral_dept.pk,
            "follow_up_date": "2026-12-16",
        },
    )
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["status"] == "completed"
    assert body["outcome"]["referral_department"] == "外科"
    assert body["outcome"]["follow_up_date"] == "2026-12-16"

    kinds = list(BookingEvent.objects.filter(booking=booking).values_list("kind", flat=True))
    assert kinds == ["requested", "confirmed", "started", "completed"]
    assert all(e.actor_id for e in BookingEvent.objects.filter(booking=booking))
    audit = AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(ConsultBooking), object_id=str(booking.pk))
    assert set(audit.values_list("action", flat=True)) >= {
        "teleconsult.booking.create", "teleconsult.booking.confirmed", "teleconsult.booking.started", "teleconsult.booking.completed"
    }
    assert Notification.objects.filter(recipient=doctor_user, kind="consult_outcome", object_id=booking.pk).exists()
    # the doctor reads the outcome
    read = api_as(doctor_user).get(f"{URL}{booking.pk}/").json()
    assert read["outcome"]["advice"] == "低盐饮食，监测血压"
    assert [e["kind"] for e in read["events"]] == kinds


def test_referral_must_go_to_a_county_hospital_department(booking, consultant, clock, db):
    from tests.factories import FacilityFactory
    from tests.telemedicine.factories import DepartmentFactory

    centre_dept = DepartmentFactory(facility=FacilityFactory(kind="township_centre", code="TC1", village="", village_kind=""))
    act(consultant.user, booking, "confirm")
    clock.move_to(booking.starts_at)
    act(consultant.user, booking, "start")
    response = act(
        consultant.user, booking, "complete",
        {"findings": "x", "advice": "y", "referral": True, "referral_department": centre_dept.pk},
    )
    assert response.status_code == 400


def test_decline_needs_a_reason_and_frees_the_place(booking, consultant, doctor_user):
    assert act(consultant.user, booking, "decline", {"reason": ""}).status_code == 400
    response = act(consultant.user, booking, "decline", {"reason": "该病情请直接到急诊科就诊"})
    assert response.json()["status"] == "declined"
    assert response.json()["decline_reason"] == "该病情请直接到急诊科就诊"
    assert Slot.objects.get(pk=booking.slot_id).booked == 0
    assert Notification.objects.filter(recipient=doctor_user, kind="consult_declined").exists()


def test_only_the_consultant_confirms(booking, doctor_user, db):
    other = ConsultantFactory()
    from tests.telemedicine.factories import consultant_with_login

    stranger = consultant_with_login(department=other.department)
    assert act(doctor_user, booking, "confirm").status_code == 403
    # another consultant cannot even see it
    assert act(stranger.user, booking, "confirm").status_code == 404


def test_wrong_state_is_409_in_chinese(booking, consultant):
    act(consultant.user, booking, "confirm")
    response = act(consultant.user, booking, "confirm")
    assert response.status_code == 409
    assert "当前状态为“已确认”" in response.json()["detail"]


def test_doctor_cancels_before_the_cutoff(booking, doctor_user, consultant):
    act(consultant.user, booking, "confirm")
    response = act(doctor_user, booking, "cancel", {"reason": "患者已自行去县医院"})
    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    assert booking.cancelled_by == doctor_user and booking.cancelled_by_side == "doctor"
    assert Slot.objects.get(pk=booking.slot_id).booked == 0
    # reminders withdrawn, the consultant told
    pending = Notification.objects.filter(object_id=booking.pk, kind__startswith="consult_reminder").exclude(status="cancelled")
    assert not pending.exists()
    assert Notification.objects.filter(recipient=consultant.user, kind="consult_cancelled").exists()


def test_cancel_closes_hours_before_start(booking, doctor_user, clock, settings):
    settings.TELECONSULT_CANCEL_CLOSES_HOURS = 2
    clock.move_to(booking.starts_at - datetime.timedelta(hours=1))
    response = act(doctor_user, booking, "cancel", {"reason": "有事"})
    assert response.status_code == 400
    assert "2 小时内不能再取消" in response.json()["detail"]


def test_reschedule_keeps_history(booking, doctor_user, consultant, clock):
    act(consultant.user, booking, "confirm")
    old_slot = booking.slot
    new_slot = make_slot(consultant, TOMORROW, 10, 0)

    response = act(doctor_user, booking, "reschedule", {"slot": new_slot.pk, "reason": "患者上午要做检查"})

    assert response.status_code == 200, response.content
    booking.refresh_from_db()
    assert booking.slot == new_slot and booking.status == "requested" and booking.reschedule_count == 1
    assert booking.starts_at == new_slot.starts_at
    assert Slot.objects.get(pk=old_slot.pk).booked == 0 and Slot.objects.get(pk=new_slot.pk).booked == 1
    event = BookingEvent.objects.get(booking=booking, kind="rescheduled")
    assert (event.from_slot, event.to_slot, event.from_status, event.to_status) == (old_slot, new_slot, "confirmed", "requested")
    assert event.actor == doctor_user and event.note == "患者上午要做检查"
    assert Notification.objects.filter(recipient=consultant.user, kind="consult_rescheduled").exists()
    # the old reminders were withdrawn
    assert not Notification.objects.filter(object_id=booking.pk, kind__startswith="consult_reminder", status="pending").exists()


def test_reschedule_into_full_slot_is_409_and_changes_nothing(booking, doctor_user, consultant, clock):
    full = make_slot(consultant, TOMORROW, 11, 0)
    Slot.objects.filter(pk=full.pk).update(booked=1)
    response = act(doctor_user, booking, "reschedule", {"slot": full.pk})
    assert response.status_code == 409
    booking.refresh_from_db()
    assert booking.slot_id != full.pk and Slot.objects.get(pk=booking.slot_id).booked == 1


def test_consultant_cannot_reschedule(booking, consultant, clock):
    new_slot = make_slot(consultant, TOMORROW, 10, 0)
    assert act(consultant.user, booking, "reschedule", {"slot": new_slot.pk}).status_code == 403


def test_no_show_task_after_end_plus_grace(booking, consultant, clock, settings):
    settings.TELECONSULT_NO_SHOW_GRACE_MINUTES = 30
    act(consultant.user, booking, "confirm")
    unconfirmed_slot = make_slot(consultant, TOMORROW, 9, 20)
    from tests.telemedicine.factories import village_doctor

    other = village_doctor(username="vd_late")
    unconfirmed = api_as(other).post(URL, booking_payload(unconfirmed_slot, patient_name="罗阿婆"), format="json").json()["id"]

    clock.move_to(booking.ends_at + datetime.timedelta(minutes=29))
    assert sweep_past_consults_task() == {"no_show": 0, "expired": 0}

    clock.move_to(booking.ends_at + datetime.timedelta(minutes=61))
    assert sweep_past_consults_task() == {"no_show": 1, "expired": 1}
    booking.refresh_from_db()
    assert booking.status == "no_show"
    event = BookingEvent.objects.get(booking=booking, kind="no_show")
    assert event.actor is None and event.from_status == "confirmed"
    expired = ConsultBooking.objects.get(pk=unconfirmed)
    assert expired.status == "cancelled" and expired.cancelled_by_side == "system"
    # idempotent
    assert sweep_past_consults_task() == {"no_show": 0, "expired": 0}


def test_in_progress_is_not_marked_no_show(booking, consultant, clock):
    act(consultant.user, booking, "confirm")
    clock.move_to(booking.starts_at)
    act(consultant.user, booking, "start")
    clock.move_to(booking.ends_at + datetime.timedelta(hours=3))
    assert bookings_sweep_past().no_show == 0


def test_cancelled_place_can_be_booked_again(booking, doctor_user, slot):
    act(doctor_user, booking, "cancel", {"reason": "改约"})
    response = api_as(doctor_user).post(URL, booking_payload(slot), format="json")
    assert response.status_code == 201


def test_now_constant_is_tuesday_morning():
    assert NOW.weekday() == 1


def test_each_reschedule_and_reconfirmation_notifies_again(booking, doctor_user, consultant, clock):
    first, second = make_slot(consultant, TOMORROW, 10, 0), make_slot(consultant, TOMORROW, 11, 0)
    act(consultant.user, booking, "confirm")
    clock.shift(datetime.timedelta(minutes=1))
    act(doctor_user, booking, "reschedule", {"slot": first.pk})
    act(consultant.user, booking, "confirm")
    clock.shift(datetime.timedelta(minutes=1))
    act(doctor_user, booking, "reschedule", {"slot": second.pk})
    act(consultant.user, booking, "confirm")
    mine = Notification.objects.filter(object_id=booking.pk, channel="in_app")
    assert mine.filter(recipient=consultant.user, kind="consult_rescheduled").count() == 2
    assert mine.filter(recipient=doctor_user, kind="consult_confirmed").count() == 3
    # only the reminders of the current time are still to be sent
    pending = mine.filter(kind__startswith="consult_reminder").exclude(status="cancelled")
    assert {n.scheduled_for for n in pending} == {second.starts_at - datetime.timedelta(hours=24), second.starts_at - datetime.timedelta(minutes=30)}
