"""The monthly rollup (SettlementMonthStat): kept by every ingest path in the same transaction,
equal to a recomputation from the log, rebuilt by a command, read by the selectors."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from clinics.models import Role
from clinics.settlements import stats
from clinics.settlements.models import SettlementMonthStat, SettlementRecord
from clinics.settlements.selectors import clinic_month_summary, monthly_totals, monthly_visits
from clinics.settlements.services import settlements_import
from tests.factories import make_user
from tests.settlements.helpers import csv_bytes, numbered, row, upload_at_once, xlsx_file

OCT = datetime.date(2026, 10, 1)
SEP = datetime.date(2026, 9, 1)


def _mixed_ingest(clinic, other_clinic, clerk):
    """API, CSV and XLSX uploads with new rows, a chronic-disease row, another insurance type, a
    September row, a reversal, duplicates (resent and repeated in the file) and rejected rows."""
    first = [row(clinic, n) for n in range(1, 6)] + [
        row(clinic, 6, clr_type="99", medfee_sumamt="80.00", fund_pay_sumamt="70.00", hifp_pay="70.00", maf_pay="0.00",
            acct_pay="0.00", psn_cash_pay="10.00"),
        row(other_clinic, 7, insutype="310"),
        row(clinic, 8, setl_time="2026-09-30 23:30:00"),  # Beijing time: September
        row(clinic, 9, setl_time="2026-09-30 16:30:00"),  # 00:30 UTC of 30 Sept… still September
    ]
    settlements_import(source="api", acting_user=clerk, rows=numbered(first))
    file_rows = [
        row(clinic, 1),  # already recorded: duplicate
        row(clinic, 10), row(clinic, 10),  # repeated in the file: one duplicate
        row(clinic, 11, medfee_sumamt="51.00"),  # rejected: total does not add up
        row(clinic, 12, setl_time="2026-02-30 10:00:00"),  # rejected: no such day
        row(clinic, 13, init_setl_id=first[1]["setl_id"], setl_time="2026-10-20 10:00:00"),  # reversal
        row(other_clinic, 14),
    ]
    upload = settlements_import(source="upload", acting_user=clerk, data=csv_bytes(file_rows), filename="october.csv")
    assert (upload.accepted, upload.duplicates, upload.rejected) == (3, 2, 2)
    xlsx = [row(clinic, 15, init_setl_id=first[0]["setl_id"], setl_time="2026-11-02 08:00:00"),  # reversal in November
            row(clinic, 16), row(clinic, 3)]
    batch = settlements_import(source="upload", acting_user=clerk, data=xlsx_file(xlsx), filename="more.xlsx")
    assert (batch.accepted, batch.duplicates, batch.rejected) == (2, 1, 0)
    # The same CSV again changes nothing, in the log or in the rollup.
    before = stats.stored()
    again = settlements_import(source="upload", acting_user=clerk, data=csv_bytes(file_rows), filename="october.csv")
    assert (again.accepted, again.duplicates, again.rejected) == (0, 5, 2)
    assert stats.stored() == before


def test_rollup_equals_recomputation_after_mixed_ingest(clinic, other_clinic, clerk):
    _mixed_ingest(clinic, other_clinic, clerk)
    assert SettlementRecord.objects.count() == 14
    rollup = stats.stored()
    assert rollup == stats.recomputed()
    oct_390_11 = rollup[(clinic.pk, OCT, "390", "11")]
    # rows 1-5, 10, 16 (7 visits) and the reversal of row 2 (-1 visit, one reversal)
    assert oct_390_11[:2] == (6, 1)
    assert oct_390_11[2] == Decimal("300.00")  # medfee_sumamt: 7 × 50.00 − 50.00
    assert rollup[(clinic.pk, SEP, "390", "11")][:3] == (2, 0, Decimal("100.00"))
    assert rollup[(clinic.pk, datetime.date(2026, 11, 1), "390", "11")][:3] == (-1, 1, Decimal("-50.00"))
    assert rollup[(clinic.pk, OCT, "390", "99")][:3] == (1, 0, Decimal("80.00"))
    assert rollup[(other_clinic.pk, OCT, "310", "11")][:2] == (1, 0)

    # Rebuilding from the log, one month or all, gives the same lines.
    assert stats.rebuild(OCT) == 4
    assert stats.stored() == rollup
    SettlementMonthStat.objects.all().delete()
    stats.rebuild()
    assert stats.stored() == rollup


def test_rebuild_command(clinic, clerk, capsys):
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, n) for n in range(1, 4)]))
    SettlementMonthStat.objects.all().delete()
    call_command("rebuild_settlement_stats", "--month", "2026-10")
    assert "1" in capsys.readouterr().out
    assert SettlementMonthStat.objects.get().visits == 3
    call_command("rebuild_settlement_stats")
    assert stats.stored() == stats.recomputed()


def test_selectors_read_the_rollup_within_reach(clinic, other_clinic, clerk):
    _mixed_ingest(clinic, other_clinic, clerk)
    county = monthly_totals(user=clerk, start=SEP, end=datetime.date(2026, 12, 1))
    assert {(r["township_code"], r["month"]) for r in county} == {
        (clinic.township.code, SEP), (clinic.township.code, OCT), (clinic.township.code, datetime.date(2026, 11, 1)),
        (other_clinic.township.code, OCT),
    }
    by_month = {r["month"]: r for r in county if r["township_code"] == clinic.township.code}
    assert sum(r["visits"] for r in county if r["month"] == OCT) == 7 + 2  # both clinics, all types
    assert by_month[datetime.date(2026, 11, 1)]["reversals"] == 1
    doctor = make_user(Role.VILLAGE_DOCTOR, facility=other_clinic, username="vd_other")
    own = monthly_totals(user=doctor, start=SEP, end=datetime.date(2026, 12, 1))
    assert [(r["month"], r["visits"]) for r in own] == [(OCT, 2)]
    assert own[0]["medfee_sumamt"] == Decimal("100.00")
    assert monthly_totals(user=clerk, start=SEP, end=OCT, township_code="nope") == []
    summary = {r["facility_id"]: r for r in clinic_month_summary(user=clerk, month=OCT)}
    assert (summary[clinic.pk]["visits"], summary[clinic.pk]["reversals"]) == (7, 1)
    assert monthly_visits(months=[OCT, SEP], facility_ids=[clinic.pk]) == {(clinic.pk, OCT): 7, (clinic.pk, SEP): 2}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_into_one_clinic_month_keep_exact_totals(clinic, clerk):
    files = [csv_bytes([row(clinic, t * 1000 + n) for n in range(1, 151)]) for t in range(4)]
    batches = upload_at_once(files, clerk)
    assert sum(b.accepted for b in batches) == 600
    line = SettlementMonthStat.objects.get(facility=clinic, month=OCT, insutype="390", clr_type="11")
    assert (line.visits, line.reversals, line.medfee_sumamt, line.fund_pay_sumamt) == (600, 0, Decimal("30000.00"), Decimal("24000.00"))
    assert stats.stored() == stats.recomputed()
