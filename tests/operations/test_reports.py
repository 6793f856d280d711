"""Reports run on a read-only connection (the "reports" alias: a replica when one is configured,
else a read-only session on the primary)."""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connections
from django.test.utils import CaptureQueriesContext

from core.models import Job
from operations.reports import ReportsRouter, reading_reports


def test_reads_go_to_reports_only_inside_the_block_and_writes_never():
    router = ReportsRouter()
    assert router.db_for_read(Job) is None
    with reading_reports():
        assert router.db_for_read(Job) == "reports"
        assert router.db_for_write(Job) == "default"
    assert router.db_for_read(Job) is None
    assert router.allow_migrate("reports", "core") is False and router.allow_migrate("default", "core") is True


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "reports"])
def test_the_monthly_settlement_summary_runs_on_a_read_only_connection(county_admin):
    from clinics.settlements.models import SettlementMonthStat
    from clinics.settlements.selectors import monthly_totals
    from tests.factories import clinic_with_doctors

    clinic, _doctors = clinic_with_doctors(1)
    SettlementMonthStat.objects.create(facility=clinic, month=datetime.date(2026, 10, 1), insutype="390", clr_type="11",
                                       visits=12, medfee_sumamt=Decimal("345.60"))  # fmt: skip
    reports = connections["reports"]
    with CaptureQueriesContext(reports) as on_reports, CaptureQueriesContext(connections["default"]) as on_primary:
        with reading_reports():
            rows = monthly_totals(user=county_admin, start=datetime.date(2026, 10, 1), end=datetime.date(2026, 11, 1))
    assert [(r["township_code"], r["visits"], r["medfee_sumamt"]) for r in rows] == [
        (clinic.township.code, 12, Decimal("345.60"))
    ]
    assert any("settlements_settlementmonthstat" in q["sql"] for q in on_reports.captured_queries)
    assert not any("settlements_settlementmonthstat" in q["sql"] for q in on_primary.captured_queries)

    with reports.cursor() as cursor:
        cursor.execute("SHOW default_transaction_read_only")
        assert cursor.fetchone() == ("on",)
    with pytest.raises(DatabaseError, match="read-only"):
        Job.objects.using("reports").create(kind="report.write", dedupe_key="x")
    assert not Job.objects.filter(kind="report.write").exists()
