import datetime

import pytest
from django.db import IntegrityError, transaction

from staffing.rosters.models import DutyDay, LeaveRequest
from staffing.rosters.services.generation import roster_generate
from tests.factories import clinic_with_doctors

D = datetime.date
pytestmark = pytest.mark.postgres


def test_database_refuses_a_second_on_call_or_a_double_duty(calendar_2026):
    clinic, (a, b) = clinic_with_doctors(2)
    roster_generate(month=D(2026, 10, 1))  # COPY path on PostgreSQL
    duty = DutyDay.objects.get(facility=clinic, date=D(2026, 10, 1))
    other = b if duty.doctor == a else a
    with pytest.raises(IntegrityError), transaction.atomic():
        DutyDay.objects.create(roster=duty.roster, facility=clinic, doctor=other, date=duty.date, duty="on_call", day_kind="holiday")
    with pytest.raises(IntegrityError), transaction.atomic():
        DutyDay.objects.create(roster=duty.roster, facility=clinic, doctor=duty.doctor, date=D(2026, 10, 1), duty="day", day_kind="workday")


def test_overlapping_leave_is_refused_by_the_exclusion_constraint(db):
    clinic, (a,) = clinic_with_doctors(1)
    LeaveRequest.objects.create(doctor=a, facility=clinic, kind="annual", start_date=D(2026, 10, 1), end_date=D(2026, 10, 5), reason="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        LeaveRequest.objects.create(doctor=a, facility=clinic, kind="sick", start_date=D(2026, 10, 5), end_date=D(2026, 10, 6), reason="y")
    # a rejected request does not block
    LeaveRequest.objects.create(doctor=a, facility=clinic, kind="sick", start_date=D(2026, 10, 5), end_date=D(2026, 10, 6), reason="y", status="rejected")
