"""The booking's questions about a slot (the holiday calendar of its year, the consultant's and the
doctor's leave, the patient's other consults) are asked in the SELECT that reads the slot: they
still refuse, each with its own message, and they judge the slot by its local day and year in
Asia/Shanghai, not by the UTC date the database stores (a slot at 00:30 is on the previous day in
UTC)."""

import datetime

import pytest

from telemedicine.models import ConsultBooking, Slot
from tests.conftest import api_as
from tests.factories import DoctorFactory, PostingFactory, make_id_number
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import ConsultantFactory, approved_leave, booking_payload, make_slot

URL = "/api/v1/teleconsult/bookings/"
pytestmark = pytest.mark.django_db
DAY_AFTER = TOMORROW + datetime.timedelta(days=1)


@pytest.fixture
def past_midnight(consultant, clock):
    """A slot at 00:30 on DAY_AFTER, local time: 16:30 UTC the day before."""
    slot = make_slot(consultant, DAY_AFTER, 0, 30)
    assert slot.starts_at.astimezone(datetime.UTC).date() == TOMORROW
    return slot


def test_the_doctors_leave_on_the_slots_local_day_refuses(doctor_user, past_midnight):
    approved_leave(doctor_user.doctor, doctor_user.scope.facility, DAY_AFTER)

    response = api_as(doctor_user).post(URL, booking_payload(past_midnight), format="json")

    assert response.status_code == 400
    assert DAY_AFTER.isoformat() in response.json()["fields"]["slot"][0]
    assert "请了假" in response.json()["fields"]["slot"][0]
    assert not ConsultBooking.objects.exists()
    assert Slot.objects.get(pk=past_midnight.pk).booked == 0


def test_leave_on_the_utc_date_only_does_not_refuse(doctor_user, past_midnight):
    approved_leave(doctor_user.doctor, doctor_user.scope.facility, TOMORROW)

    assert api_as(doctor_user).post(URL, booking_payload(past_midnight), format="json").status_code == 201


def _consultant_on_leave(consultant, day):
    record = DoctorFactory()
    posting = PostingFactory(doctor=record, facility=consultant.department.facility)
    consultant.doctor = record
    consultant.save()
    approved_leave(record, posting.facility, day, kind="sick")


def test_the_consultants_leave_on_the_slots_local_day_refuses(doctor_user, consultant, past_midnight):
    _consultant_on_leave(consultant, DAY_AFTER)

    response = api_as(doctor_user).post(URL, booking_payload(past_midnight), format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "consultant_on_leave"
    assert DAY_AFTER.isoformat() in response.json()["detail"]


def test_the_consultants_leave_on_the_utc_date_only_does_not_refuse(doctor_user, consultant, past_midnight):
    _consultant_on_leave(consultant, TOMORROW)

    response = api_as(doctor_user).post(URL, booking_payload(past_midnight), format="json")

    assert response.status_code == 201, response.content


def test_a_slot_past_midnight_into_a_year_without_a_calendar_is_refused(doctor_user, consultant, clock):
    """00:30 on 1 January 2027 is still 2026 in UTC; the 2026 calendar is loaded, 2027's is not."""
    slot = make_slot(consultant, datetime.date(2027, 1, 1), 0, 30)

    response = api_as(doctor_user).post(URL, booking_payload(slot), format="json")

    assert response.status_code == 400
    assert "2027" in str(response.json())
    assert not ConsultBooking.objects.exists()


def test_the_patients_overlapping_consult_is_named(doctor_user, consultant, clock):
    first = make_slot(consultant, TOMORROW, 9, 0, minutes=30)
    overlapping = make_slot(ConsultantFactory(), TOMORROW, 9, 20, minutes=20)
    after = make_slot(ConsultantFactory(), TOMORROW, 9, 30, minutes=20)  # starts as the first ends: no overlap
    patient_id = make_id_number(datetime.date(1970, 3, 4), 7, "F")
    client = api_as(doctor_user)
    payload = {"patient_id_number": patient_id, "patient_age": None}
    booked = client.post(URL, booking_payload(first, **payload), format="json")
    assert booked.status_code == 201

    refused = client.post(URL, booking_payload(overlapping, **payload), format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "patient_overlap"
    assert refused.json()["booking"] == booked.json()["id"]
    assert Slot.objects.get(pk=overlapping.pk).booked == 0
    assert client.post(URL, booking_payload(after, **payload), format="json").status_code == 201
