"""Booking rules and refusals, through the API: each refusal says in Chinese what to do."""

import datetime

import pytest

from clinics.models import Role
from notifications.models import Notification
from staffing.rosters.models import LeaveRequest
from telemedicine.models import BookingEvent, ConsultBooking, Slot
from tests.conftest import api_as
from tests.factories import make_id_number, make_user
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import approved_leave, booking_payload, make_slot, village_doctor

URL = "/api/v1/teleconsult/bookings/"
pytestmark = pytest.mark.django_db


def test_village_doctor_books_a_slot(doctor_user, slot, consultant):
    response = api_as(doctor_user).post(URL, booking_payload(slot), format="json")

    assert response.status_code == 201, response.content
    booking = ConsultBooking.objects.get()
    assert booking.status == "requested"
    assert booking.doctor == doctor_user.doctor
    assert booking.facility == doctor_user.scope.facility
    assert (booking.starts_at, booking.ends_at) == (slot.starts_at, slot.ends_at)
    assert len(booking.room_token) >= 40
    slot.refresh_from_db()
    assert slot.booked == 1
    assert BookingEvent.objects.get(booking=booking).kind == "requested"
    # the consultant is told, in the outbox of the notifications app
    assert Notification.objects.filter(recipient=consultant.user, kind="consult_booked", object_id=booking.pk).exists()
    assert response.json()["video"]["state"] == "inactive"


def test_full_slot_is_refused_with_409(doctor_user, slot):
    api_as(doctor_user).post(URL, booking_payload(slot), format="json")
    other = village_doctor(username="vd_other")

    response = api_as(other).post(URL, booking_payload(slot, patient_name="黄大山", patient_sex="M"), format="json")

    assert response.status_code == 409
    assert "已约满" in response.json()["detail"]
    assert Slot.objects.get(pk=slot.pk).booked == 1


def test_patient_cannot_be_booked_twice_at_overlapping_times(doctor_user, consultant, clock):
    from tests.telemedicine.factories import ConsultantFactory

    first = make_slot(consultant, TOMORROW, 9, 0, minutes=30)
    other_consultant = ConsultantFactory()
    overlapping = make_slot(other_consultant, TOMORROW, 9, 20, minutes=20)
    patient_id = make_id_number(datetime.date(1970, 3, 4), 7, "F")
    client = api_as(doctor_user)
    assert client.post(URL, booking_payload(first, patient_id_number=patient_id, patient_age=None), format="json").status_code == 201

    response = client.post(URL, booking_payload(overlapping, patient_id_number=patient_id, patient_age=None), format="json")

    assert response.status_code == 409
    assert "该患者" in response.json()["detail"] and "重叠" in response.json()["detail"]
    # the place taken for the refused booking was given back
    assert Slot.objects.get(pk=overlapping.pk).booked == 0


def test_patient_identity_without_id_uses_name_sex_and_age(doctor_user, consultant, clock):
    from tests.telemedicine.factories import ConsultantFactory

    client = api_as(doctor_user)
    client.post(URL, booking_payload(make_slot(consultant, TOMORROW, 9)), format="json")
    clash = make_slot(ConsultantFactory(), TOMORROW, 9, 10)
    assert client.post(URL, booking_payload(clash), format="json").status_code == 409
    # another patient at the same time is fine
    assert client.post(URL, booking_payload(clash, patient_name="罗阿婆"), format="json").status_code == 201


def test_clinic_without_telemedicine_link_may_book_phone_only(db, roles, slot):
    user = village_doctor(telemedicine=False, username="vd_phone")
    client = api_as(user)

    refused = client.post(URL, booking_payload(slot, mode="video"), format="json")
    assert refused.status_code == 400
    assert "只能预约电话会诊" in refused.json()["fields"]["mode"][0]

    accepted = client.post(URL, booking_payload(slot, mode="phone"), format="json")
    assert accepted.status_code == 201
    assert accepted.json()["video"]["state"] == "not_video"


def test_doctor_on_leave_that_day_cannot_book(doctor_user, slot):
    doctor = doctor_user.doctor
    approved_leave(doctor, doctor_user.scope.facility, TOMORROW)
    response = api_as(doctor_user).post(URL, booking_payload(slot), format="json")
    assert response.status_code == 400
    assert "请了假" in response.json()["fields"]["slot"][0]
    assert not ConsultBooking.objects.exists()


def test_pending_leave_does_not_block(doctor_user, slot):
    doctor = doctor_user.doctor
    LeaveRequest.objects.create(
        doctor=doctor, facility=doctor_user.scope.facility, kind="annual", start_date=TOMORROW, end_date=TOMORROW, reason="探亲"
    )
    assert api_as(doctor_user).post(URL, booking_payload(slot), format="json").status_code == 201


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"patient_id_number": "451028197003041234"}, "patient_id_number", "校验"),
        ({"patient_age": None}, "patient_birth_date", "出生日期或年龄"),
        ({"patient_birth_date": "2030-01-01", "patient_age": None}, "patient_birth_date", "不能晚于今天"),
        ({"chief_complaint": "  "}, "chief_complaint", "主诉"),
    ],
)
def test_bad_patient_details_are_refused_in_chinese(doctor_user, slot, overrides, field, text):
    response = api_as(doctor_user).post(URL, booking_payload(slot, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert text in " ".join(response.json()["fields"][field])


def test_id_number_must_match_sex(doctor_user, slot):
    male_id = make_id_number(datetime.date(1970, 3, 4), 3, "M")
    response = api_as(doctor_user).post(URL, booking_payload(slot, patient_id_number=male_id, patient_sex="F"), format="json")
    assert response.status_code == 400
    assert "性别" in response.json()["fields"]["patient_sex"][0]


def test_id_number_supplies_birth_date(doctor_user, slot):
    patient_id = make_id_number(datetime.date(1970, 3, 4), 3, "F")
    response = api_as(doctor_user).post(URL, booking_payload(slot, patient_id_number=patient_id, patient_age=None), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["patient_birth_date"] == "1970-03-04"
    assert body["patient_id_number"] == patient_id[:6] + "********" + patient_id[-4:]


def test_past_or_missing_slot_is_refused(doctor_user, consultant, clock):
    past = make_slot(consultant, datetime.date(2026, 11, 30), 9)
    client = api_as(doctor_user)
    assert "已开始" in client.post(URL, booking_payload(past), format="json").json()["fields"]["slot"][0]
    assert client.post(URL, {**booking_payload(past), "slot": 999999}, format="json").status_code == 400


def test_withdrawn_slot_is_refused(doctor_user, slot):
    Slot.objects.filter(pk=slot.pk).update(is_withdrawn=True)
    response = api_as(doctor_user).post(URL, booking_payload(slot), format="json")
    assert response.status_code == 409
    assert "不再提供" in response.json()["detail"]


def test_only_village_doctors_book(consultant, slot, county_admin):
    for user in (consultant.user, county_admin):
        response = api_as(user).post(URL, booking_payload(slot), format="json")
        assert response.status_code == 403
        assert "乡村医生" in response.json()["detail"]


def test_slot_with_two_places_takes_two(doctor_user, consultant, clock):
    slot = make_slot(consultant, TOMORROW, 15, places=2)
    client = api_as(doctor_user)
    assert client.post(URL, booking_payload(slot), format="json").status_code == 201
    assert client.post(URL, booking_payload(slot, patient_name="罗阿婆"), format="json").status_code == 201
    assert client.post(URL, booking_payload(slot, patient_name="韦三"), format="json").status_code == 409


def test_counter_cannot_exceed_places_in_the_database(slot):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=2)


def test_unauthenticated_gets_401(slot, api_client):
    response = api_client.post(URL, booking_payload(slot), format="json")
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_role_without_doctor_link(db, roles, slot):
    user = make_user(Role.VILLAGE_DOCTOR, facility=slot.consultant.department.facility)
    assert api_as(user).post(URL, booking_payload(slot), format="json").status_code == 403


def test_consultant_on_leave_refuses_new_bookings_before_the_slots_are_withdrawn(doctor_user, slot, consultant):
    from tests.factories import DoctorFactory, PostingFactory

    record = DoctorFactory()
    posting = PostingFactory(doctor=record, facility=consultant.department.facility)
    consultant.doctor = record
    consultant.save()
    approved_leave(record, posting.facility, TOMORROW, kind="sick")
    response = api_as(doctor_user).post(URL, booking_payload(slot), format="json")
    assert response.status_code == 409
    assert "专家" in response.json()["detail"] and "请假" in response.json()["detail"]
