"""PostgreSQL only: monthly partitions, the append-only trigger, the COPY path, the estimated
count, and concurrent uploads of the same rows."""

import datetime
import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from clinics.settlements import admin as settlement_admin
from clinics.settlements.models import SettlementRecord
from clinics.settlements.partitions import ensure_partitions_ahead, existing_partition_months
from clinics.settlements.services import settlements_import
from core.paginators import EstimatedCountPaginator
from tests.settlements.helpers import csv_bytes, numbered, row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_partitions_are_created_on_demand_and_ahead(clinic, clerk):
    rows = [row(clinic, 1), row(clinic, 2, setl_time="2026-08-31 23:30:00"), row(clinic, 3, setl_time="2026-09-01 00:10:00")]
    settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="s.csv")
    months = existing_partition_months()
    assert {datetime.date(2026, 8, 1), datetime.date(2026, 9, 1), datetime.date(2026, 10, 1)} <= months
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM settlements_settlementrecord WHERE setl_id = %s",
                       [rows[1]["setl_id"]])
        assert cursor.fetchone()[0] == "settlements_settlementrecord_p2026_08", "Beijing time decides the month"
    created = ensure_partitions_ahead(today=datetime.date(2030, 1, 15))
    assert created == [f"settlements_settlementrecord_p{m}" for m in ("2029_12", "2030_01", "2030_02", "2030_03", "2030_04")]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE settlements_settlementrecord SET medfee_sumamt = 0",
        "DELETE FROM settlements_settlementrecord",
        "UPDATE settlements_settlementkey SET fingerprint = ''",
        "DELETE FROM settlements_settlementkey",
    ],
)
def test_database_refuses_update_and_delete(clinic, clerk, sql):
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 1)]))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert SettlementRecord.objects.count() == 1


def test_orm_delete_is_refused_too(clinic, clerk):
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 1)]))
    with pytest.raises(IntegrityError), transaction.atomic():
        SettlementRecord.objects.all().delete()


def test_a_csv_the_fast_lane_cannot_read_goes_through_copy_of_the_raw_file(clinic, clerk, monkeypatch):
    from clinics.settlements.ingest import PostgresEngine

    def row_by_row(*args, **kwargs):
        raise AssertionError("a clean CSV must be copied as it is, not row by row")

    monkeypatch.setattr(PostgresEngine, "load_rows", row_by_row)
    # a quoted value that spans lines: the lane reads lines, COPY reads CSV rows
    rows = [row(clinic, 1), row(clinic, 2, psn_name="张\n三"), row(clinic, 3)]
    data = csv_bytes(rows)
    with CaptureQueriesContext(connection) as queries:
        batch = settlements_import(source="upload", acting_user=clerk, data=data, filename="s.csv")
    assert batch.accepted == 3
    assert any("ON CONFLICT DO NOTHING" in q["sql"] for q in queries.captured_queries)
    assert set(SettlementRecord.objects.values_list("setl_id", flat=True)) == {r["setl_id"] for r in rows}


def test_the_admin_counts_by_estimate_once_the_log_is_big_and_says_about(clinic, clerk, client):
    """The settlement list uses the project's one estimating paginator (core.paginators): over the
    threshold the page shows the planner's estimate, marked "about"; below it, an exact count."""
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, n) for n in range(1, 30)]))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE settlements_settlementrecord")
    many = EstimatedCountPaginator(SettlementRecord.objects.order_by("-id"), 10)
    many.estimate_above = 5
    with CaptureQueriesContext(connection) as queries:
        assert many.count >= 6 and many.estimated
    assert not any(q["sql"].upper().startswith("SELECT COUNT(*) AS") and "LIMIT" not in q["sql"].upper() for q in queries.captured_queries)
    few = EstimatedCountPaginator(SettlementRecord.objects.filter(facility=clinic).order_by("-id"), 10)
    assert few.count == 29 and not few.estimated
    assert settlement_admin.SettlementRecordAdmin.paginator is EstimatedCountPaginator


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_of_the_same_rows_land_once(clinic, clerk):
    rows = numbered([row(clinic, n) for n in range(1, 200)])
    batches, barrier = [], threading.Barrier(2)

    def upload():
        try:
            barrier.wait()
            batches.append(settlements_import(source="api", acting_user=clerk, rows=rows))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert SettlementRecord.objects.count() == 199
    assert sum(b.accepted for b in batches) == 199
    assert sum(b.duplicates for b in batches) == 199


@pytest.mark.django_db(transaction=True)
def test_uploads_queue_on_the_import_lock(clinic, clerk):
    import time

    from clinics.settlements.services import IMPORT_LOCK

    holder = connections.create_connection("default")
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])  # another upload is writing
    finished = threading.Event()

    def upload():
        try:
            settlements_import(source="upload", acting_user=clerk, data=csv_bytes([row(clinic, 1)]), filename="q.csv")
            finished.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=upload)
    thread.start()
    time.sleep(1.0)
    assert not finished.is_set(), "the second upload waits for the first to commit"
    holder.commit()
    holder.close()
    thread.join(timeout=30)
    assert finished.is_set()
    assert SettlementRecord.objects.count() == 1


def test_the_key_table_compares_setl_ids_byte_by_byte_and_lookups_keep_its_index(clinic, clerk):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, collation_name FROM information_schema.columns "
            "WHERE table_name = 'settlements_settlementkey' AND column_name IN ('setl_id', 'init_setl_id') ORDER BY 1"
        )
        assert cursor.fetchall() == [("init_setl_id", "C"), ("setl_id", "C")]
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT 1 FROM settlements_settlementkey WHERE setl_id = ANY(%s)", [["S1", "S2"]])
        assert "settlements_settlementkey_pkey" in "\n".join(line for (line,) in cursor.fetchall())
    original = row(clinic, 1)
    rows = [original, row(clinic, 2, init_setl_id=original["setl_id"], setl_time="2026-10-13 10:00:00")]
    batch = settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="s.csv")
    assert (batch.accepted, batch.rejected) == (2, 0)
    again = settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="s.csv")
    assert (again.accepted, again.duplicates, again.rejected) == (0, 2, 0)
