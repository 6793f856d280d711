"""Open slots: materialised from weekly availability minus exceptions, public holidays and leave."""

import datetime

import pytest

from staffing.rosters.models import CalendarYear, HolidayDay
from telemedicine.models import AvailabilityException, ConsultBooking, Slot
from telemedicine.services.availability import availability_delete, exception_delete, exception_save
from telemedicine.services.slots import slots_materialise
from telemedicine.tasks import materialise_slots_task
from tests.conftest import api_as
from tests.factories import DoctorFactory, PostingFactory
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import approved_leave, booking_payload, weekly

pytestmark = pytest.mark.django_db
WEDNESDAY = TOMORROW  # 2026-12-02
SLOTS_URL = "/api/v1/teleconsult/slots/"


def local_times(slots):
    from django.utils import timezone

    return [timezone.localtime(s.starts_at).strftime("%m-%d %H:%M") for s in slots]


def test_weekly_availability_becomes_slots(consultant, clock):
    weekly(consultant, 2, "09:00", "10:00", minutes=20, places=2)
    weekly(consultant, 2, "15:00", "15:50", minutes=25)  # 15:00, 15:25 (15:50 end fits exactly)

    report = slots_materialise(start=WEDNESDAY, end=WEDNESDAY + datetime.timedelta(days=6))

    slots = Slot.objects.order_by("starts_at")
    assert local_times(slots) == ["12-02 09:00", "12-02 09:20", "12-02 09:40", "12-02 15:00", "12-02 15:25"]
    assert [s.places for s in slots][:3] == [2, 2, 2]
    assert report.created == 5
    # idempotent
    assert slots_materialise(start=WEDNESDAY, end=WEDNESDAY + datetime.timedelta(days=6)).created == 0


def test_effective_dates_bound_the_slots(consultant, clock):
    weekly(consultant, 2, valid_from=datetime.date(2026, 12, 9), valid_until=datetime.date(2026, 12, 9))
    slots_materialise(start=WEDNESDAY, end=datetime.date(2026, 12, 20))
    assert {s.starts_at.date() for s in Slot.objects.all()} == {datetime.date(2026, 12, 9)}


def test_exception_withdraws_slots_and_deleting_it_reopens(consultant, clock):
    weekly(consultant, 2, "09:00", "10:00")
    slots_materialise(start=WEDNESDAY, end=WEDNESDAY)
    exception = AvailabilityException(
        consultant=consultant, date=WEDNESDAY, start_time=datetime.time(9, 20), end_time=datetime.time(9, 40), reason="院内会议"
    )
    report = exception_save(exception=exception, acting_user=None)
    assert report.withdrawn == 1
    assert local_times(Slot.objects.filter(is_withdrawn=False).order_by("starts_at")) == ["12-02 09:00", "12-02 09:40"]
    exception_delete(exception=exception, acting_user=None)
    assert Slot.objects.filter(is_withdrawn=True).count() == 0


def test_whole_day_exception(consultant, clock):
    weekly(consultant, 2, "09:00", "10:00")
    exception_save(
        exception=AvailabilityException(consultant=consultant, date=WEDNESDAY, kind="leave", reason="年假"), acting_user=None
    )
    assert not Slot.objects.filter(is_withdrawn=False).exists()


def test_public_holiday_has_no_slots(consultant, clock):
    CalendarYear.objects.get_or_create(year=2026)
    HolidayDay.objects.create(date=WEDNESDAY, kind=HolidayDay.Kind.HOLIDAY, name="测试假日")
    weekly(consultant, 2)
    weekly(consultant, 3)
    slots_materialise(start=WEDNESDAY, end=WEDNESDAY + datetime.timedelta(days=1))
    assert {s.starts_at.astimezone(datetime.timezone(datetime.timedelta(hours=8))).date() for s in Slot.objects.all()} == {
        datetime.date(2026, 12, 3)
    }


def test_consultant_on_approved_leave_has_no_slots(consultant, clock):
    doctor = DoctorFactory()
    posting = PostingFactory(doctor=doctor, facility=consultant.department.facility)
    consultant.doctor = doctor
    consultant.save()
    approved_leave(doctor, posting.facility, WEDNESDAY, kind="training")
    weekly(consultant, 2)
    weekly(consultant, 3)
    slots_materialise(start=WEDNESDAY, end=WEDNESDAY + datetime.timedelta(days=1))
    assert all(s.starts_at.day == 3 for s in Slot.objects.all()) and Slot.objects.exists()


def test_booked_slot_is_withdrawn_but_keeps_its_booking(consultant, doctor_user, clock):
    availability = weekly(consultant, 2, "09:00", "09:20")
    slots_materialise(start=WEDNESDAY, end=WEDNESDAY)
    slot = Slot.objects.get()
    api_as(doctor_user).post("/api/v1/teleconsult/bookings/", booking_payload(slot), format="json")
    availability_delete(availability=availability, acting_user=None)
    slot.refresh_from_db()
    assert slot.is_withdrawn and slot.booked == 1
    assert ConsultBooking.objects.get().status == "requested"


def test_slots_api_lists_open_slots_on_demand(consultant, doctor_user, clock):
    weekly(consultant, 2, "09:00", "10:00")
    response = api_as(doctor_user).get(SLOTS_URL, {"department": consultant.department_id, "date": "2026-12-02"})
    assert response.status_code == 200
    assert [s["starts_at"][11:16] for s in response.json()] == ["09:00", "09:20", "09:40"]
    first = response.json()[0]
    api_as(doctor_user).post("/api/v1/teleconsult/bookings/", booking_payload(Slot.objects.get(pk=first["id"])), format="json")
    again = api_as(doctor_user).get(SLOTS_URL, {"department": consultant.department_id, "date": "2026-12-02"}).json()
    assert first["id"] not in [s["id"] for s in again]


def test_slots_api_needs_department_and_date(doctor_user):
    response = api_as(doctor_user).get(SLOTS_URL, {"date": "2026-13-01"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"department", "date"}


def test_periodic_task_materialises_the_horizon(consultant, clock, settings):
    settings.TELECONSULT_SLOT_HORIZON_DAYS = 14
    weekly(consultant, 2)
    result = materialise_slots_task()
    assert result["created"] == 3 * 2  # two Wednesdays in 15 days, three 20-minute slots each


def test_departments_api(consultant, doctor_user):
    response = api_as(doctor_user).get("/api/v1/teleconsult/departments/")
    assert response.status_code == 200
    assert [d["id"] for d in response.json()] == [consultant.department_id]
    assert response.json()[0]["consultant_count"] == 1


def test_moving_an_exception_gives_the_old_day_back(consultant, clock):
    weekly(consultant, 2, "09:00", "10:00")
    weekly(consultant, 3, "09:00", "10:00")
    exception = AvailabilityException(consultant=consultant, date=WEDNESDAY, reason="外出会议")
    exception_save(exception=exception, acting_user=None)
    slots_materialise(start=WEDNESDAY, end=WEDNESDAY + datetime.timedelta(days=1))
    exception.date = WEDNESDAY + datetime.timedelta(days=1)
    exception_save(exception=exception, acting_user=None)
    open_days = {s.starts_at.astimezone(datetime.timezone(datetime.timedelta(hours=8))).day for s in Slot.objects.filter(is_withdrawn=False)}
    assert open_days == {2}
