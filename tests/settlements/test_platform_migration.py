"""Migration 0013 on rows recorded before it (issue 15): existing rows migrate without loss, the 27
new 2207 fields NULL (nothing invented), an old clr_type 14 carried as med_type 14 + clr_type 11,
the platform's clearing category. Runs the real migrations back to 0012 and forward again."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from clinics.settlements.models import SettlementKey, SettlementRecord
from clinics.settlements.partitions import ensure_partitions
from clinics.settlements.spec import PLATFORM_FIELDS

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("settlements", "0012_mask_rejected_certno")]


def test_rows_recorded_before_0013_keep_their_values_and_have_the_new_fields_empty(clinic):
    ensure_partitions([datetime.date(2026, 10, 1)])
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    try:
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        Record, Key = old.get_model("settlements", "SettlementRecord"), old.get_model("settlements", "SettlementKey")
        at = timezone.make_aware(datetime.datetime(2026, 10, 12, 9, 30))
        for n, clr_type in ((1, "11"), (2, "14")):
            Record.objects.create(
                setl_id=f"OLD{n}", mdtrt_id=f"M{n}", psn_no=f"P{n}", psn_name="旧记录", certno_masked="451028********0012",
                insutype="390", clr_type=clr_type, settled_at=at, medfee_sumamt=Decimal("50.00"),
                fund_pay_sumamt=Decimal("40.00"), hifp_pay=Decimal("35.00"), maf_pay=Decimal("5.00"),
                acct_pay=Decimal("2.00"), psn_cash_pay=Decimal("8.00"), facility_id=clinic.pk, atddr_no="D1",
                init_setl_id="", recorded_at=at,
            )
            Key.objects.create(setl_id=f"OLD{n}", settled_at=at, fingerprint="0" * 32, facility_id=clinic.pk)
    finally:
        MigrationExecutor(connection).migrate(latest)

    kept = {r["setl_id"]: r for r in SettlementRecord.objects.values()}
    assert set(kept) == {"OLD1", "OLD2"}
    for row in kept.values():
        assert all(row[f] is None for f in PLATFORM_FIELDS if f != "med_type"), row
        assert (row["medfee_sumamt"], row["fund_pay_sumamt"], row["acct_pay"], row["psn_cash_pay"]) == (
            Decimal("50.00"), Decimal("40.00"), Decimal("2.00"), Decimal("8.00"))
        assert (row["psn_name"], row["certno_masked"], row["atddr_no"]) == ("旧记录", "451028********0012", "D1")
    assert (kept["OLD1"]["clr_type"], kept["OLD1"]["med_type"]) == ("11", None)
    assert (kept["OLD2"]["clr_type"], kept["OLD2"]["med_type"]) == ("11", "14")  # 门诊慢特病 is a med_type
    assert SettlementKey.objects.get(setl_id="OLD1").fingerprint == "0" * 32  # an unchanged row keeps its key
    assert SettlementKey.objects.get(setl_id="OLD2").fingerprint != "0" * 32  # a carried row is keyed again
