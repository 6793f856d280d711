"""Two admins approve two leaves of one doctor at once, each within the balance alone, together
beyond it: one is approved, the other refused with the balance (PostgreSQL, real threads)."""

import datetime

import pytest

from clinics.models import Role
from staffing.rosters.models import DecisionStatus, LeaveEntitlement, LeaveRequest
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.leave import leave_request_create
from tests.conftest import api_as
from tests.factories import TownshipFactory, clinic_with_doctors, make_user
from tests.threads import race

D = datetime.date
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_approvals_do_not_exceed_the_entitlement_unconfirmed(calendar_2026, roles):
    township = TownshipFactory()
    clinic, (a, _b) = clinic_with_doctors(2, township=township)
    roster_generate(month=D(2026, 10, 1))
    admins = [make_user(Role.TOWNSHIP_ADMIN, township=township, username=f"balance_race_{i}") for i in range(2)]
    # personal leave: 10 days a year; 6 + 6 days. The row is made here: migration 0008 seeds it, but a
    # transactional test before this one may have flushed the table.
    LeaveEntitlement.objects.update_or_create(year=2026, kind="personal", doctor=None, defaults={"days": 10})
    first = leave_request_create(doctor=a, kind="personal", start_date=D(2026, 10, 12), end_date=D(2026, 10, 17),
                                 reason="x", acting_user=None)
    second = leave_request_create(doctor=a, kind="personal", start_date=D(2026, 10, 19), end_date=D(2026, 10, 24),
                                  reason="y", acting_user=None)
    results = race([
        lambda: api_as(admins[0]).post(f"/api/v1/rosters/leave/{first.pk}/decide/", {"approve": True}, format="json"),
        lambda: api_as(admins[1]).post(f"/api/v1/rosters/leave/{second.pk}/decide/", {"approve": True}, format="json"),
    ])
    assert sorted(status for status, _body in results) == [200, 400], results
    statuses = sorted(LeaveRequest.objects.filter(doctor=a).values_list("status", flat=True))
    assert statuses == sorted([DecisionStatus.APPROVED, DecisionStatus.PENDING])
