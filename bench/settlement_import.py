"""Settlement log benchmarks on PostgreSQL (not run in CI).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cunyi_settlements \
        .venv/bin/python bench/settlement_import.py [--rows 200000] [--admin-rows 5000000] [--recon-rows 1000000]

Measures, in one run:
1. file import (`settlements_import` of a CSV in the documented column order: the fast lane's
   child process reads it while the server COPYs the chunks into the key table and the log) in
   rows/s, and its ratio to a bare COPY of the same file into an unindexed table; then the same
   file again (all duplicates);
2. reconciliation of one month of 1,000,000 settlements against a 1,000,000-line bureau detail
   file (import of the statement + the comparison);
3. the admin changelist of the log at 5,000,000 rows: time and number of queries;
4. the file import again, with the 5,000,000 rows and their keys in place;
5. with --engines: the same file (new IDs each time) through each engine in turn, in the same
   run: the fast lane, the SQL engine alone (the lane switched off: the whole file COPYed into the
   staging table and checked in one SQL pass) and the Python engine on PostgreSQL (what would read
   the rows the lane does not take if the SQL engine went), each against the bare COPY.

Bench data lives in its own clinics (codes 4510289999xx) and in months (2023, January 2024) that hold nothing
else; it is removed at the end (partitions dropped, key rows deleted with the append-only trigger
disabled for that one statement). Run it only against a database of your own.
"""

import argparse
import csv
import datetime
import io
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from clinics.models import Facility, Township  # noqa: E402
from clinics.settlements.ingest import FastLane, PythonEngine  # noqa: E402
from clinics.settlements.models import (  # noqa: E402
    BureauStatement,
    Reconciliation,
    SettlementImport,
)
from clinics.settlements.partitions import add_months, ensure_partitions, partition_name  # noqa: E402
from clinics.settlements.services import imports as import_service  # noqa: E402
from clinics.settlements.services import reconciliation_run, settlements_import, statement_import  # noqa: E402
from clinics.settlements.spec import FIELDS  # noqa: E402
from clinics.settlements.stats import rebuild as rebuild_month_stats  # noqa: E402

IMPORT_MONTH = datetime.date(2023, 3, 1)
RECON_MONTH = datetime.date(2023, 4, 1)
ADMIN_FIRST_MONTH = datetime.date(2023, 5, 1)
ADMIN_MONTHS = 8
IMPORT_AT_SCALE_MONTH = datetime.date(2024, 1, 1)
CLINICS = 88
CODE_PREFIX = "4510289999"


def bench_clinics() -> list[Facility]:
    township, _ = Township.objects.get_or_create(code="451028999000", defaults={"name": "基准测试乡", "kind": "township"})
    clinics = []
    for i in range(CLINICS):
        clinic, _ = Facility.objects.get_or_create(
            code=f"{CODE_PREFIX}{i:02d}",
            defaults={"kind": Facility.Kind.VILLAGE_CLINIC, "name": f"基准测试村{i}卫生室", "township": township,
                      "village": f"基准测试村{i}", "village_kind": "village", "is_demo": True},
        )
        clinics.append(clinic)
    return clinics


def make_file(clinics, n: int, month: datetime.date, prefix: str = "BI") -> bytes:
    rng = random.Random(42)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for i in range(n):
        hifp, maf, acct, cash = rng.randrange(1500, 6000), rng.choice([0, 0, 500]), rng.choice([0, 200]), rng.randrange(300, 1500)
        fund = hifp + maf
        writer.writerow([
            f"{prefix}{i:012d}", f"MI{i:012d}", f"P{i % 50000:010d}", "基准患者", "", "390" if i % 10 else "310",
            "11" if i % 7 else "14", f"{(fund + acct + cash) / 100:.2f}", f"{fund / 100:.2f}", f"{hifp / 100:.2f}",
            f"{maf / 100:.2f}", f"{acct / 100:.2f}", f"{cash / 100:.2f}",
            f"{month:%Y-%m}-{1 + i % 28:02d} {8 + i % 10:02d}:{i % 60:02d}:{(i // 60) % 60:02d}",
            clinics[i % len(clinics)].code, f"D{i % 176:08d}", "",
        ])
    return buffer.getvalue().encode()


def reference_loop_seconds() -> float:
    """A fixed piece of pure Python work: this machine is a VM whose speed varies with its host's
    load (the same loop took 1.9 s and 3.6 s within the hour); the figure tells the runs apart."""
    started, total = time.perf_counter(), 0
    for i in range(30_000_000):
        total += i
    return time.perf_counter() - started


def bare_copy_seconds(data: bytes) -> float:
    body = data.split(b"\n", 1)[1]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_copy")
        cursor.execute(
            "CREATE TABLE bench_bare_copy (setl_id text, mdtrt_id text, psn_no text, psn_name text, certno text, "
            "insutype text, clr_type text, medfee_sumamt numeric(12,2), fund_pay_sumamt numeric(12,2), "
            "hifp_pay numeric(12,2), maf_pay numeric(12,2), acct_pay numeric(12,2), psn_cash_pay numeric(12,2), "
            "setl_time timestamp, fixmedins_code text, atddr_no text, init_setl_id text)"
        )
        started = time.perf_counter()
        with cursor.cursor.copy("COPY bench_bare_copy FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(body)
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_bare_copy")
    return seconds


def generate_records(cursor, clinic_ids: list[int], month: datetime.date, n: int, prefix: str, offset: int = 0) -> None:
    """n settlements of `month` straight from generate_series, with their keys (setl_id, time,
    clinic: what lookups by setl_id go through; the fingerprint is a stand-in, the bench never
    resends these rows)."""
    ensure_partitions([month])
    cursor.execute(
        f"""INSERT INTO settlements_settlementrecord
            (setl_id, mdtrt_id, psn_no, psn_name, certno_masked, insutype, clr_type, medfee_sumamt, fund_pay_sumamt,
             hifp_pay, maf_pay, acct_pay, psn_cash_pay, settled_at, facility_id, atddr_no, init_setl_id, recorded_at, is_demo)
        SELECT '{prefix}' || lpad(g::text, 12, '0'), 'M' || g, 'P' || (g %% 50000), '基准患者', '', '390', '11',
               50.00 + (g %% 7), 40.00, 35.00, 5.00, 2.00, 8.00 + (g %% 7),
               %s::timestamptz + ((g - %s) %% 2419200) * interval '1 second',
               (%s::bigint[])[1 + g %% %s], 'D' || lpad((g %% 176)::text, 8, '0'), '', now(), true
          FROM generate_series(%s, %s) g""",
        [f"{month:%Y-%m-%d} 00:00:00+08", offset, clinic_ids, len(clinic_ids), offset, offset + n - 1],
    )
    cursor.execute(
        f"""INSERT INTO settlements_settlementkey (setl_id, settled_at, fingerprint, facility_id)
        SELECT setl_id, settled_at, md5(setl_id), facility_id FROM {partition_name(month)}
         WHERE setl_id >= %s AND setl_id <= %s""",
        [f"{prefix}{offset:012d}", f"{prefix}{offset + n - 1:012d}"],
    )


def write_bureau_files(cursor, month: datetime.date, clinic_ids: list[int]) -> tuple[bytes, bytes]:
    """The bureau's view of the month: every line, except that every 1000th is missing at the
    bureau, every 997th differs in amount, and 500 lines exist only at the bureau."""
    start, end = f"{month:%Y-%m-%d} 00:00:00+08", f"{add_months(month, 1):%Y-%m-%d} 00:00:00+08"
    detail = io.BytesIO()
    sql = f"""COPY (
        SELECT r.setl_id, f.code, r.insutype, r.clr_type,
               CASE WHEN r.id % 997 = 0 THEN r.medfee_sumamt + 1 ELSE r.medfee_sumamt END, r.fund_pay_sumamt, r.acct_pay, ''
          FROM settlements_settlementrecord r JOIN clinics_facility f ON f.id = r.facility_id
         WHERE r.settled_at >= '{start}' AND r.settled_at < '{end}' AND r.id % 1000 <> 0
        UNION ALL
        SELECT 'BUREAUONLY' || g, (SELECT code FROM clinics_facility WHERE id = {clinic_ids[0]}), '390', '11', 10.00, 10.00, 0.00, ''
          FROM generate_series(1, 500) g
    ) TO STDOUT WITH (FORMAT csv)"""
    detail.write(b"setl_id,fixmedins_code,insutype,clr_type,medfee_sumamt,fund_pay_sumamt,acct_pay,refd_setl_flag\n")
    with cursor.cursor.copy(sql) as copy:
        for chunk in copy:
            detail.write(chunk)
    cursor.execute(
        f"""SELECT f.code, r.insutype, r.clr_type, count(*), sum(r.medfee_sumamt), sum(r.fund_pay_sumamt), sum(r.acct_pay)
              FROM settlements_settlementrecord r JOIN clinics_facility f ON f.id = r.facility_id
             WHERE r.settled_at >= '{start}' AND r.settled_at < '{end}' GROUP BY 1, 2, 3 ORDER BY 1"""
    )
    totals = io.StringIO()
    writer = csv.writer(totals)
    writer.writerow(["fixmedins_code", "insutype", "clr_type", "setl_cnt", "medfee_sumamt", "fund_pay_sumamt", "acct_pay"])
    writer.writerows(cursor.fetchall())
    return totals.getvalue().encode(), detail.getvalue()


def cleanup(clinic_ids: list[int]) -> None:
    months = [IMPORT_MONTH, RECON_MONTH, IMPORT_AT_SCALE_MONTH] + [add_months(ADMIN_FIRST_MONTH, i) for i in range(ADMIN_MONTHS)]
    with transaction.atomic(), connection.cursor() as cursor:
        for month in months:
            cursor.execute(f"DROP TABLE IF EXISTS {partition_name(month)}")
        cursor.execute("ALTER TABLE settlements_settlementkey DISABLE TRIGGER settlements_key_append_only")
        cursor.execute(
            "DELETE FROM settlements_settlementkey WHERE setl_id LIKE 'BI%%' OR setl_id LIKE 'BJ%%' OR setl_id LIKE 'BZ%%' "
            "OR setl_id LIKE 'BR%%' OR setl_id LIKE 'BA%%' OR setl_id LIKE 'BY%%'"
        )
        cursor.execute("ALTER TABLE settlements_settlementkey ENABLE TRIGGER settlements_key_append_only")
        cursor.execute("DELETE FROM settlements_settlementmonthstat WHERE facility_id = ANY(%s)", [clinic_ids])
    Reconciliation.objects.filter(facility_id__in=clinic_ids).delete()
    BureauStatement.objects.filter(month=RECON_MONTH).delete()
    SettlementImport.objects.filter(filename__startswith="bench-").delete()
    Facility.objects.filter(pk__in=clinic_ids).delete()
    Township.objects.filter(code="451028999000").delete()


def guard(months) -> None:
    with connection.cursor() as cursor:
        for month in months:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM settlements_settlementrecord WHERE settled_at >= %s AND settled_at < %s "
                f"AND facility_id NOT IN (SELECT id FROM clinics_facility WHERE code LIKE '{CODE_PREFIX}%%'))",
                [f"{month:%Y-%m-%d} 00:00+08", f"{add_months(month, 1):%Y-%m-%d} 00:00+08"],
            )
            if cursor.fetchone()[0]:
                sys.exit(f"{month:%Y-%m} holds real settlements: run the bench on a database of its own.")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--recon-rows", type=int, default=1_000_000)
    parser.add_argument("--admin-rows", type=int, default=5_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench data (for looking at it)")
    parser.add_argument("--import-only", action="store_true", help="only part 1, the file import")
    parser.add_argument("--engines", action="store_true", help="part 5: the file through each engine (with --import-only)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("The settlement bench needs PostgreSQL (DATABASE_URL=postgres://…).")
    call_command("migrate", verbosity=0)
    months = [IMPORT_MONTH, RECON_MONTH, IMPORT_AT_SCALE_MONTH] + [add_months(ADMIN_FIRST_MONTH, i) for i in range(ADMIN_MONTHS)]
    guard(months)
    clinics = bench_clinics()
    clinic_ids = [c.pk for c in clinics]
    results = {}
    try:
        # 1. File import against a bare COPY of the same file.
        data = make_file(clinics, args.rows, IMPORT_MONTH)
        ensure_partitions([IMPORT_MONTH])
        results["file_mb"] = len(data) / 1e6
        results["reference_s"] = reference_loop_seconds()
        results["bare_copy_s"] = min(bare_copy_seconds(data) for _ in range(2))
        started = time.perf_counter()
        batch = settlements_import(source="command", data=data, filename="bench-import.csv")
        results["import_s"] = time.perf_counter() - started
        results["import_counts"] = (batch.accepted, batch.duplicates, batch.rejected)
        started = time.perf_counter()
        again = settlements_import(source="command", data=data, filename="bench-import-again.csv")
        results["reimport_s"] = time.perf_counter() - started
        results["reimport_counts"] = (again.accepted, again.duplicates, again.rejected)

        if args.engines:
            engines(args, clinics, results)
        if not args.import_only:
            other_parts(args, clinic_ids, results)
    finally:
        if not args.keep:
            cleanup(clinic_ids)
    report(results, args)


def python_engine_only(context, messages, rows, raw, lane):
    """`services.imports._run_engine` as it would be without the SQL engine: every row the lane does
    not take (here: all of them) read by the Python engine."""
    return PythonEngine(context, messages).run(rows())


def engines(args, clinics, results: dict) -> None:
    """The same rows through the lane, the SQL engine alone and the Python engine, fresh IDs each
    (prefixes the cleanup removes), in this order."""
    real_run, real_engine = FastLane.run, import_service._run_engine
    results["engines"] = {}
    for label, prefix, lane_off, python in [
        ("fast lane (+ SQL engine for the rest)", "BY", False, False),
        ("SQL engine alone (lane off)", "BJ", True, False),
        ("Python engine on PostgreSQL (lane off)", "BZ", True, True),
    ]:
        data = make_file(clinics, args.rows, IMPORT_MONTH, prefix=prefix)
        FastLane.run = (lambda self, *a: None) if lane_off else real_run
        import_service._run_engine = python_engine_only if python else real_engine
        try:
            started = time.perf_counter()
            batch = settlements_import(source="command", data=data, filename="bench-engines.csv")
            seconds = time.perf_counter() - started
        finally:
            FastLane.run, import_service._run_engine = real_run, real_engine
        results["engines"][label] = (seconds, (batch.accepted, batch.duplicates, batch.rejected))


def other_parts(args, clinic_ids: list[int], results: dict) -> None:
    # 2. Reconciliation of a month of 1M settlements with a 1M-line bureau detail file.
    with transaction.atomic(), connection.cursor() as cursor:
        generate_records(cursor, clinic_ids, RECON_MONTH, args.recon_rows, "BR")
    # Generated straight into the log: roll the month up as `rebuild_settlement_stats --month` does.
    started = time.perf_counter()
    rebuild_month_stats(RECON_MONTH)
    results["rebuild_s"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE settlements_settlementrecord")
        totals, detail = write_bureau_files(cursor, RECON_MONTH, clinic_ids)
    started = time.perf_counter()
    statement = statement_import(month=RECON_MONTH, statement_data=totals, statement_filename="bench-3201.csv",
                                 detail_data=detail, detail_filename="bench-3202.csv")
    results["statement_import_s"] = time.perf_counter() - started
    started = time.perf_counter()
    recs = reconciliation_run(statement=statement)
    results["reconcile_s"] = time.perf_counter() - started
    results["recon_outcome"] = (
        sum(r.matched for r in recs), sum(r.amounts_differ for r in recs), sum(r.missing_at_bureau for r in recs),
        sum(r.missing_here for r in recs), sum(r.balanced for r in recs), len(recs),
    )

    # 3. The admin changelist at 5M rows.
    per_month = (args.admin_rows - args.rows - args.recon_rows) // ADMIN_MONTHS
    started = time.perf_counter()
    for i in range(ADMIN_MONTHS):
        with transaction.atomic(), connection.cursor() as cursor:
            generate_records(cursor, clinic_ids, add_months(ADMIN_FIRST_MONTH, i), per_month, "BA", offset=i * per_month)
    with connection.cursor() as cursor:
        # What autovacuum does after a load (else it does it during the measurements below).
        cursor.execute("VACUUM ANALYZE settlements_settlementrecord")
        cursor.execute("VACUUM ANALYZE settlements_settlementkey")
        cursor.execute("SELECT count(*) FROM settlements_settlementrecord")
        results["admin_total_rows"] = cursor.fetchone()[0]
    results["generate_s"] = time.perf_counter() - started
    user, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    client.force_login(user)
    pages = {
        "unfiltered": "/admin/settlements/settlementrecord/",
        "page 50": "/admin/settlements/settlementrecord/?p=50",
        "one month": f"/admin/settlements/settlementrecord/?month={add_months(ADMIN_FIRST_MONTH, 3):%Y-%m}",
        "one clinic": f"/admin/settlements/settlementrecord/?clinic={clinic_ids[5]}",
        "setl_id search": "/admin/settlements/settlementrecord/?q=BA000000123456",
        "clinic and month": f"/admin/settlements/settlementrecord/?clinic={clinic_ids[5]}&month={add_months(ADMIN_FIRST_MONTH, 3):%Y-%m}",
    }
    results["admin"] = {}
    for label, url in pages.items():
        client.get(url)  # warm
        timings = []
        for _ in range(3):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        results["admin"][label] = (min(timings) * 1000, len(queries.captured_queries))
    get_user_model().objects.filter(username="bench-admin").delete()

    # 4. The file import again, now that the log holds the admin part's millions of rows and the
    # key table as many keys: another month's file of new settlements, twice. "BZ…" IDs sort after
    # every recorded one, as new settlement IDs do on the platform (they grow with time): the keys
    # go at the right edge of the key index. "BJ…" IDs sort between recorded ones ("BI…", "BR…"):
    # each key goes down the index to its place, the harder case.
    clinics = list(Facility.objects.filter(code__startswith=CODE_PREFIX).order_by("code"))
    ensure_partitions([IMPORT_AT_SCALE_MONTH])
    with connection.cursor() as cursor:
        # Generating the millions wrote gigabytes of WAL: let the checkpoint it set off finish
        # first, as it would have long before a clerk's next upload.
        cursor.execute("CHECKPOINT")
    results["scale_import"] = {}
    for prefix in ("BZ", "BJ"):
        data = make_file(clinics, args.rows, IMPORT_AT_SCALE_MONTH, prefix=prefix)
        started = time.perf_counter()
        batch = settlements_import(source="command", data=data, filename="bench-import-at-scale.csv")
        results["scale_import"][prefix] = (time.perf_counter() - started, (batch.accepted, batch.duplicates, batch.rejected))


def report(results: dict, args) -> None:
    rate = args.rows / results["import_s"]
    print(f"machine speed: reference Python loop {results['reference_s']:.2f} s (less on a faster or quieter host)")
    print(f"file: {args.rows:,} rows, {results['file_mb']:.1f} MB")
    print(f"bare COPY into an unindexed table: {results['bare_copy_s']:.2f} s ({args.rows / results['bare_copy_s']:,.0f} rows/s)")
    print(f"import: {results['import_s']:.2f} s = {rate:,.0f} rows/s; accepted/duplicates/rejected {results['import_counts']}")
    print(f"ratio import / bare COPY: {results['import_s'] / results['bare_copy_s']:.1f}x")
    print(f"same file again: {results['reimport_s']:.2f} s; {results['reimport_counts']}")
    for label, (seconds, counts) in results.get("engines", {}).items():
        print(f"engine {label}: {seconds:.2f} s = {args.rows / seconds:,.0f} rows/s, "
              f"{seconds / results['bare_copy_s']:.1f}x bare COPY; {counts}")
    if "reconcile_s" not in results:
        return
    print(f"monthly rollup of the generated reconciliation month (rebuild_settlement_stats --month): {results['rebuild_s']:.1f} s")
    print(f"reconciliation of {args.recon_rows:,} rows: statement import (1M detail lines) {results['statement_import_s']:.1f} s, "
          f"comparison {results['reconcile_s']:.1f} s, total {results['statement_import_s'] + results['reconcile_s']:.1f} s")
    print(f"  matched/differ/missing at bureau/missing here/balanced clinics/clinics: {results['recon_outcome']}")
    print(f"admin list at {results['admin_total_rows']:,} rows (generated in {results['generate_s']:.0f} s):")
    for label, (ms, queries) in results["admin"].items():
        print(f"  {label}: {ms:.0f} ms, {queries} queries")
    for prefix, (seconds, counts) in results["scale_import"].items():
        where = "after every recorded key" if prefix == "BZ" else "between recorded keys"
        print(f"import of another {args.rows:,}-row month with {results['admin_total_rows']:,} rows in the log, IDs {where}: "
              f"{seconds:.2f} s = {args.rows / seconds:,.0f} rows/s; {counts}")


if __name__ == "__main__":
    main()
