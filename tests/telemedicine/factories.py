"""Factories and helpers for teleconsult tests."""

import datetime

import factory

from clinics.models import Department, Facility, Role
from telemedicine.models import Consultant, Slot, WeeklyAvailability
from telemedicine.services.calendar import local_dt
from telemedicine.services.patients import Patient
from tests.factories import FacilityFactory, PostingFactory, make_user


class HospitalFactory(FacilityFactory):
    kind = Facility.Kind.COUNTY_HOSPITAL
    code = factory.Sequence(lambda n: f"CH{n:06d}")
    name = factory.Sequence(lambda n: f"测试县人民医院{n}")
    village = ""
    village_kind = ""
    telemedicine_enabled = True


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    facility = factory.SubFactory(HospitalFactory)
    name = "内科"
    code = factory.Sequence(lambda n: f"D{n}")


class ConsultantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consultant

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"专家{n}")
    title = "主治医师"


def consultant_with_login(department=None, username=None) -> Consultant:
    consultant = ConsultantFactory(**({"department": department} if department else {}))
    user = make_user(Role.CONSULTANT, facility=consultant.department.facility, username=username)
    consultant.user = user
    consultant.save(update_fields=["user"])
    return consultant


def village_doctor(*, telemedicine=True, username=None, facility=None):
    """A village doctor's login at a (telemedicine-linked) clinic."""
    facility = facility or FacilityFactory(telemedicine_enabled=telemedicine)
    posting = PostingFactory(facility=facility)
    return make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username=username)


def make_slot(consultant, day: datetime.date, hour: int = 9, minute: int = 0, minutes: int = 20, places: int = 1) -> Slot:
    start = local_dt(day, datetime.time(hour, minute))
    return Slot.objects.create(
        consultant=consultant,
        department=consultant.department,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=minutes),
        places=places,
    )


def weekly(consultant, weekday: int, start="09:00", end="10:00", minutes=20, places=1, valid_from=datetime.date(2026, 1, 1), **kw):
    return WeeklyAvailability.objects.create(
        consultant=consultant,
        weekday=weekday,
        start_time=datetime.time.fromisoformat(start),
        end_time=datetime.time.fromisoformat(end),
        slot_minutes=minutes,
        places=places,
        valid_from=valid_from,
        **kw,
    )


def patient(name="韦小兰", sex="F", age=56, **kw) -> Patient:
    return Patient(name=name, sex=sex, age=age, **kw)


def booking_payload(slot, **overrides) -> dict:
    data = {
        "slot": slot.pk,
        "patient_name": "韦小兰",
        "patient_sex": "F",
        "patient_age": 56,
        "chief_complaint": "反复头晕两周，血压 170/100",
        "urgency": "routine",
        "mode": "video",
    }
    data.update(overrides)
    return data


def approved_leave(doctor, facility, day, kind="annual"):
    from staffing.rosters.models import DecisionStatus, LeaveRequest

    return LeaveRequest.objects.create(
        doctor=doctor, facility=facility, kind=kind, start_date=day, end_date=day, reason="测试请假", status=DecisionStatus.APPROVED
    )
