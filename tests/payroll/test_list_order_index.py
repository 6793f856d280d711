"""The payslip and roster-month admin lists are ordered the way an index holds them (issue 18): at
province scale the first page then reads a hundred index entries instead of sorting every row
through the clinics' codes and the doctors' names."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from staffing.payroll.models import Payslip
from staffing.rosters.models import RosterMonth
from tests.factories import clinic_with_doctors
from tests.payroll.conftest import OCT, run_month

pytestmark = pytest.mark.django_db


def _page_query(client, url: str, table: str) -> str:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    pages = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(f'SELECT "{table}"."id"') and "ORDER BY" in q["sql"]]
    assert pages, [q["sql"][:120] for q in queries.captured_queries]
    return pages[-1]


def _index_columns(model, name: str) -> list[str]:
    index = next(i for i in model._meta.indexes if i.name == name)
    return [f.lstrip("-") for f in index.fields]


def test_the_payslip_list_reads_its_index_order(policies, visits, county_admin, client):
    clinic_with_doctors(2)
    clinic_with_doctors(2)
    run_month(OCT)
    client.force_login(county_admin)
    sql = _page_query(client, "/admin/payroll/payslip/", "payroll_payslip")
    order = sql.split("ORDER BY", 1)[1].split("LIMIT")[0]
    assert order.strip() == (
        '"payroll_payslip"."month" DESC, "payroll_payslip"."run_id" ASC, "payroll_payslip"."township_id" ASC, '
        '"payroll_payslip"."facility_id" ASC, "payroll_payslip"."doctor_id" ASC'
    )
    assert _index_columns(Payslip, "payslip_list_order") == ["month", "run", "township", "facility", "doctor"]


def test_the_roster_month_list_reads_its_index_order(county_admin, client):
    from staffing.rosters.services.holidays import holiday_year_load

    holiday_year_load(year=2026)
    clinic, _ = clinic_with_doctors(2)
    RosterMonth.objects.create(facility=clinic, month=OCT)
    client.force_login(county_admin)
    sql = _page_query(client, "/admin/rosters/rostermonth/", "rosters_rostermonth")
    order = sql.split("ORDER BY", 1)[1].split("LIMIT")[0]
    assert order.strip() == '"rosters_rostermonth"."month" DESC, "rosters_rostermonth"."facility_id" ASC'
    assert _index_columns(RosterMonth, "rostermonth_list_order") == ["month", "facility"]
