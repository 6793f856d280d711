import datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from clinics.models import Role
from core.models import AuditEntry
from staffing.rosters.models import DutyDay, LeaveRequest, RosterMonth
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.leave import leave_request_create
from tests.conftest import api_as
from tests.factories import TownshipFactory, clinic_with_doctors, make_user
from tests.threads import race

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


@pytest.mark.django_db(transaction=True)
def test_admins_racing_to_decide_one_leave_and_publish_one_month_get_one_answer_each(calendar_2026, roles):
    township = TownshipFactory()
    clinic, (a, _b) = clinic_with_doctors(2, township=township)
    roster_generate(month=D(2026, 10, 1))
    admins = [make_user(Role.TOWNSHIP_ADMIN, township=township, username=f"race_ta_{i}") for i in range(6)]
    leave = leave_request_create(doctor=a, kind="annual", start_date=D(2026, 10, 20), end_date=D(2026, 10, 20), reason="x",
                                 acting_user=None)

    url = f"/api/v1/rosters/leave/{leave.pk}/decide/"
    results = race([lambda u=u, i=i: api_as(u).post(url, {"approve": i % 2 == 0}, format="json") for i, u in enumerate(admins)])
    codes = sorted(code for code, _body in results)
    assert codes == [200] + [409] * 5, results
    assert {body["code"] for code, body in results if code == 409} == {"invalid_transition"}
    leave.refresh_from_db()
    assert AuditEntry.objects.filter(action="leave.decide", object_id=str(leave.pk)).count() == 1
    winner = next(body for code, body in results if code == 200)
    assert leave.status == winner["status"]

    publish = reverse("api:roster-publish")
    body = {"month": "2026-10", "township": township.code}
    results = race([lambda u=u: api_as(u).post(publish, body, format="json") for u in admins])
    codes = sorted(code for code, _body in results)
    assert codes == [200] + [409] * 5, results
    assert RosterMonth.objects.get(facility=clinic, month=D(2026, 10, 1)).status == "published"
    assert AuditEntry.objects.filter(action="roster.publish").count() == 1
