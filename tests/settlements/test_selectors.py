import datetime

import pytest

from clinics.settlements.selectors import VisitCount, outpatient_visits
from clinics.settlements.services import settlements_import
from tests.settlements.helpers import numbered, row

pytestmark = pytest.mark.django_db


def test_outpatient_visits_contract(clinic, other_clinic, clerk):
    a = row(clinic, 1, atddr_no="D1")
    rows = [
        a,
        row(clinic, 2, atddr_no="D1"),
        row(clinic, 3, atddr_no="D2"),
        row(clinic, 4, atddr_no=""),
        row(clinic, 5, clr_type="14"),  # chronic outpatient: not a clr_type 11 visit
        row(clinic, 6, atddr_no="D1", init_setl_id=a["setl_id"]),  # reversal of a
        row(clinic, 7, setl_time="2026-11-01 00:00:00"),  # next month, Beijing time
        row(clinic, 8, setl_time="2026-09-30 23:59:59"),  # previous month
        row(other_clinic, 9),
    ]
    assert settlements_import(source="api", acting_user=clerk, rows=numbered(rows)).accepted == 9
    visits = outpatient_visits(month=datetime.date(2026, 10, 1), facility_ids=[clinic.pk])
    assert visits == {clinic.pk: VisitCount(total=3, by_practitioner={"D1": 1, "D2": 1}, unnamed=1)}
    everyone = outpatient_visits(month=datetime.date(2026, 10, 20))
    assert everyone[other_clinic.pk].total == 1
    from tests.factories import FacilityFactory

    quiet = FacilityFactory()
    assert outpatient_visits(month=datetime.date(2026, 10, 1), facility_ids=[quiet.pk]) == {quiet.pk: VisitCount()}
