"""Two townships, A and B, each with a clinic and its doctors, a published roster, leave, a
payslip, settlements, a teleconsult booking and notifications, and a user for every role.

Everything of B carries markers (names and codes that occur nowhere else), so a test can assert
that nothing of B ever reaches a user whose reach is A."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from clinics.models import Facility, Role
from clinics.settlements.services import settlements_import
from staffing.payroll.seeding import seed_payroll
from staffing.rosters.models import CalendarYear
from staffing.rosters.services import leave as roster_leave
from telemedicine.services import bookings as tele_services
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory, TownshipFactory, make_user
from tests.payroll.conftest import approve, publish_roster, run_month
from tests.settlements.helpers import numbered, row
from tests.telemedicine.factories import ConsultantFactory, DepartmentFactory, HospitalFactory, make_slot, patient

MONTH = datetime.date(2026, 10, 1)


@dataclass
class Side:
    township: object
    clinic: object
    doctors: list
    hospital: object
    consultant: object
    booking: object
    leave: object
    payslip: object
    settlement_ids: list
    markers: list = field(default_factory=list)


def next_weekday(after: datetime.date) -> datetime.date:
    day = after
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def build_side(letter: str, tag: str, *, clerk, county) -> tuple[Side, dict]:
    township = TownshipFactory(name=f"{tag}测试乡", code=f"45102899{ord(letter) - 64}")
    clinic = FacilityFactory(
        township=township, name=f"{tag}村卫生室", code=f"4510289{ord(letter) - 64}0001", telemedicine_enabled=True
    )
    doctors = [
        PostingFactory(facility=clinic, doctor=DoctorFactory(name=f"{tag}医生{i}", insurance_code=f"{letter}INS{i:05d}")).doctor
        for i in (1, 2)
    ]
    hospital = HospitalFactory(township=township, name=f"{tag}专科医院", code=f"CH{letter}00001")
    consultant = ConsultantFactory(department=DepartmentFactory(facility=hospital), name=f"{tag}专家")
    users = {
        "village_doctor": make_user(Role.VILLAGE_DOCTOR, doctor=doctors[0], username=f"vd_{letter}"),
        "consultant": make_user(Role.CONSULTANT, facility=hospital, username=f"cons_{letter}"),
        "township_admin": make_user(Role.TOWNSHIP_ADMIN, township=township, username=f"ta_{letter}"),
        "api_client": make_user(Role.API_CLIENT, facility=clinic, username=f"api_{letter}"),
    }
    consultant.user = users["consultant"]
    consultant.save(update_fields=["user"])

    publish_roster(clinic, MONTH, [(doctors[0], datetime.date(2026, 10, 12), "day"), (doctors[1], datetime.date(2026, 10, 17), "weekend")])
    leave = roster_leave.leave_request_create(
        doctor=doctors[0], kind="annual", start_date=datetime.date(2026, 12, 21), end_date=datetime.date(2026, 12, 22),
        reason=f"{tag}家中有事", acting_user=users["village_doctor"],
    )
    setl_ids = [f"SETL{letter}{n:05d}" for n in (1, 2)]
    rows = [
        row(clinic, n, setl_id=setl_ids[n - 1], psn_name=f"{tag}参保人", atddr_no=doctors[0].insurance_code,
            setl_time=f"2026-10-1{n} 09:00:00")
        for n in (1, 2)
    ]
    settlements_import(source="api", acting_user=users["api_client"], rows=numbered(rows))

    day = next_weekday(timezone.localdate() + datetime.timedelta(days=3))
    # Slots are offered only in a year whose holiday calendar is loaded.
    CalendarYear.objects.get_or_create(year=day.year)
    slot = make_slot(consultant, day, 9, 0)
    booking = tele_services.booking_create(
        slot_id=slot.pk, acting_user=users["village_doctor"], patient=patient(name=f"{tag}病人"),
        chief_complaint=f"{tag}头晕两周",
    )
    side = Side(township, clinic, doctors, hospital, consultant, booking, leave, None, setl_ids)
    side.markers = [clinic.code, clinic.name, *(d.name for d in doctors), f"{tag}病人", f"{tag}参保人", *setl_ids,
                    *(d.id_number for d in doctors), *(d.bank_account for d in doctors)]
    return side, users


def build_world():
    seed_payroll({})
    county = make_user(Role.COUNTY_ADMIN, username="county")
    clerk = make_user(Role.INSURANCE_CLERK, username="clerk")
    payroll = make_user(Role.PAYROLL_OFFICER, username="payroll")
    a, users_a = build_side("A", "甲", clerk=clerk, county=county)
    b, users_b = build_side("B", "乙", clerk=clerk, county=county)
    run = approve(run_month(MONTH, payroll), payroll)
    for side in (a, b):
        side.payslip = run.payslips.get(doctor=side.doctors[0])
    users = {
        "county_admin": county,
        "payroll_officer": payroll,
        "insurance_clerk": clerk,
        **{role: u for role, u in users_a.items()},
    }
    return a, b, users, users_b


A_SCOPED = ("township_admin", "village_doctor", "consultant", "api_client")
assert Facility  # re-exported for tests
