"""Settlement log benchmarks on PostgreSQL (not run in CI).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cunyi_bench_settle \
        .venv/bin/python bench/settlement_import.py [--rows 200000] [--rounds 3] [--recon-rows 1000000] \
        [--admin-rows 5000000] [--import-only] [--engines] [--keep]

A quick run: --rows 20000 --recon-rows 50000 --admin-rows 100000.

Measures, in one run:
1. file import: `settlements_import(source="upload")` of a CSV written as a clinic's HIS exports
   the 2207 answer — every one of the 41 `setlinfo` fields filled (plus the clinic and the
   practitioner; init_setl_id empty), in the documented column order (`spec.FIELDS`) — through the
   CSV fast lane, INTERLEAVED with its baseline: a bare COPY of the same CSV bytes into an
   unindexed, committed table with the same columns and the log's types. Baseline and import
   alternate --rounds times (a CHECKPOINT before each leg); every round's file has fresh setl_ids,
   so no row is a duplicate; min and median of each, ratios of the medians and of the mins. A
   sample of the same generator is imported first and must give 0 rejected, 0 warned and every
   row taken by the lane. Then round 1's file again (all duplicates);
2. reconciliation of one month of --recon-rows settlements of ONE clinic (the platform's 3202 is per
   clinic; one clinic holds them all so that the result file is as large as the month), 1 in 500
   of them reversed: `reconciliation_compute` of the month (3201, Cunyi's side), the 3202 detail
   export (`manage.py export_reconciliation_detail --month --clinic`) and the import of a 3202
   result file of the same size (`result_import`, as `reconcile_settlements --result`), generated
   the platform's way from the exported file — TAB-separated, no header, 10 columns, "null" for
   empty: every 1000th row "2" (the clinic has more: centre amounts null), every 997th "3" with
   the centre's medfee_sumamt 1.00 higher, 500 rows only at the centre ("1"), the rest "0";
3. the admin changelist of the log at --admin-rows rows: time and number of queries;
4. the file import again, with those rows and their keys in place;
5. with --engines (the engines are still `ingest.FastLane`, `PostgresEngine` and `PythonEngine`):
   the same kind of file (new IDs each time) through each engine in turn: the fast lane, the SQL
   engine alone (the lane switched off: the whole file COPYed into the staging table and checked
   in one SQL pass) and the Python engine on PostgreSQL (what would read the rows the lane does not
   take if the SQL engine went), each against the median bare COPY of part 1.

A 41-field file is about 2.3 times as large as the old 17-column one: 200,000 rows are more than
the default UPLOAD_MAX_BYTES (50 MiB), and a 1,000,000-line result file more than UPLOAD_MAX_ROWS.
The bench raises both limits in its own process (and says so); the site's settings are unchanged.

Bench data lives in its own clinics (codes 4510289999xx, platform codes H4510289999xx) and in months
(2023, January 2024) that hold nothing else; it is removed at the end (partitions dropped, key rows
deleted with the append-only trigger disabled for that one statement). Run it only against a
database of your own.
"""

import argparse
import calendar
import csv
import datetime
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")  # production's setting: benches never run with DEBUG on

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
from clinics.settlements.models import Reconciliation, SettlementImport  # noqa: E402
from clinics.settlements.partitions import add_months, ensure_partitions, partition_name  # noqa: E402
from clinics.settlements.services import imports as import_service  # noqa: E402
from clinics.settlements.services import reconciliation_compute, result_import, settlements_import  # noqa: E402
from clinics.settlements.services.reconciliation import month_period  # noqa: E402
from clinics.settlements.spec import FIELDS, KIND, SETLINFO  # noqa: E402
from clinics.settlements.stats import rebuild as rebuild_month_stats  # noqa: E402
from core.masking import mask_id_number  # noqa: E402

IMPORT_MONTH = datetime.date(2023, 3, 1)
RECON_MONTH = datetime.date(2023, 4, 1)
ADMIN_FIRST_MONTH = datetime.date(2023, 5, 1)
ADMIN_MONTHS = 8
IMPORT_AT_SCALE_MONTH = datetime.date(2024, 1, 1)
CLINICS = 88
CODE_PREFIX = "4510289999"
SETL_PREFIXES = ("BI", "BJ", "BZ", "BR", "BA", "BY", "BS")
LABELS = {name: label for name, label, _kind in SETLINFO}

SURNAMES = "黄韦罗陆杨李王覃岑莫班农蓝梁刘张"
GIVEN = ["秀英", "桂花", "志强", "海燕", "建华", "玉兰", "文军", "春梅", "国庆", "丽娟", "明", "芳", "勇", "静", "超", "敏"]


def bench_clinics() -> list[Facility]:
    township, _ = Township.objects.get_or_create(code="451028999000", defaults={"name": "基准测试乡", "kind": "township"})
    clinics = []
    for i in range(CLINICS):
        clinic, _ = Facility.objects.get_or_create(
            code=f"{CODE_PREFIX}{i:02d}",
            defaults={"kind": Facility.Kind.VILLAGE_CLINIC, "name": f"基准测试村{i}卫生室", "township": township,
                      "village": f"基准测试村{i}", "village_kind": "village", "is_demo": True,
                      "platform_code": f"H451028999{i:02d}"},
        )
        clinics.append(clinic)
    return clinics


# --- Part 1: a clinic's HIS export of the 2207 answer ---------------------------------------------


def _yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def wide_row(rng: random.Random, i: int, clinic: Facility, month: datetime.date, setl_id: str) -> dict:
    """One outpatient settlement with all 41 setlinfo fields, as the platform answers 2207: the
    amounts add up the platform's way (medfee = funds + personal share + the clinic's share,
    personal share = account + cash, funds = the sum of the fund items, mutual aid within the
    account), the codes from the shipped dictionaries, the person's fields agreeing with each other."""
    days = calendar.monthrange(month.year, month.month)[1]
    p = (i * 7919) % 50_000  # one of 50,000 insured persons
    employee = p % 10 == 0  # 310 职工; the rest 390 城乡居民
    chronic = i % 7 == 0  # med_type 14 门诊慢特病
    birth = datetime.date(1938 + p % 72, 1 + p % 12, 1 + p % 28)
    settled = datetime.datetime(month.year, month.month, 1 + i % days, 8 + i % 10, i % 60, (i // 60) % 60)
    age_days = (settled.date() - birth).days
    age = age_days / 365.25
    certno = f"451028{birth:%Y%m%d}{p % 1000:03d}{'0123456789X'[p % 11]}"
    if employee:
        psn_type = "1201" if age >= 60 else "1101"
    else:
        psn_type = "16" if age >= 60 else ("1403" if age < 18 else "1501")
    civil = employee and p % 5 == 0
    # Amounts in cents.
    medfee = rng.randrange(6000, 60000) if chronic else rng.randrange(1500, 30000)
    fulamt = rng.randrange(100, medfee // 4) if i % 5 == 0 else 0  # 全自费
    overlmt = rng.randrange(50, 500) if i % 23 == 0 else 0
    preself = rng.randrange(50, 300) if i % 17 == 0 else 0
    inscp = medfee - fulamt - overlmt - preself
    ratio = (6500 if chronic else 5500) if not employee else 7000  # per ten thousand
    hifp = inscp * ratio // 10000
    cvlserv = (inscp - hifp) * 3 // 10 if civil else 0
    maf = (inscp - hifp - cvlserv) // 5 if p % 13 == 0 else 0  # 医疗救助 for some residents
    fund = hifp + cvlserv + maf  # hifes, hifmi, hifob, oth: 0
    hosp = min(100 + (i % 4) * 50, medfee - fund) if i % 8 == 0 else 0  # the clinic bears part (一般诊疗费)
    personal = medfee - fund - hosp
    if employee:
        acct = rng.randrange(0, personal + 1)
        mulaid = 0
        balc = rng.randrange(acct, acct + 300_000)
    else:
        acct = personal // 2 if i % 6 == 0 else 0  # 家庭共济
        mulaid = acct
        balc = rng.randrange(0, 50_000)
    cash = personal - acct
    values = {
        "setl_id": setl_id,
        "mdtrt_id": f"M{setl_id}",
        "psn_no": f"4510280000{p:010d}",
        "psn_name": SURNAMES[p % len(SURNAMES)] + GIVEN[(p // 16) % len(GIVEN)],
        "certno": certno,
        "insutype": "310" if employee else "390",
        "clr_type": "11",
        "medfee_sumamt": _yuan(medfee),
        "fund_pay_sumamt": _yuan(fund),
        "hifp_pay": _yuan(hifp),
        "maf_pay": _yuan(maf),
        "acct_pay": _yuan(acct),
        "psn_cash_pay": _yuan(cash),
        "setl_time": f"{settled:%Y-%m-%d %H:%M:%S}",
        "fixmedins_code": clinic.platform_code,
        "atddr_no": f"D451028{i % 176:05d}",
        "init_setl_id": "",
        "psn_cert_type": "01",
        "gend": "1" if p % 2 else "2",
        "naty": ("08", "01", "13")[p % 3],  # 壮族, 汉族, 瑶族
        "brdy": f"{birth:%Y-%m-%d}",
        "age": f"{int(age * 10) / 10:.1f}",
        "psn_type": psn_type,
        "cvlserv_flag": "1" if civil else "0",
        "mdtrt_cert_type": ("01", "03", "02")[i % 3],
        "med_type": "14" if chronic else "11",
        "fulamt_ownpay_amt": _yuan(fulamt),
        "overlmt_selfpay": _yuan(overlmt),
        "preselfpay_amt": _yuan(preself),
        "inscp_scp_amt": _yuan(inscp),
        "act_pay_dedc": "0.00",
        "pool_prop_selfpay": f"0.{ratio:04d}",
        "cvlserv_pay": _yuan(cvlserv),
        "hifes_pay": "0.00",
        "hifmi_pay": "0.00",
        "hifob_pay": "0.00",
        "oth_pay": "0.00",
        "psn_part_amt": _yuan(personal),
        "hosp_part_amt": _yuan(hosp),
        "balc": _yuan(balc),
        "acct_mulaid_pay": _yuan(mulaid),
        "medins_setl_id": f"{clinic.code[-4:]}{settled:%Y%m%d}{i:08d}",
        "clr_optins": "451028",
        "clr_way": "04" if i % 9 == 0 else "01",
    }
    assert len(values) == len(FIELDS), sorted(set(FIELDS) ^ set(values))
    return values


def make_file(clinics, n: int, month: datetime.date, prefix: str = "BI", chinese: bool = False) -> bytes:
    """n settlements of `month` over the clinics, setl_ids `prefix` + 12 digits; the header in the
    platform's names, or (`chinese`) in the Chinese names a HIS writes (医疗费总额 …)."""
    rng = random.Random(42)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([LABELS.get(f, f) for f in FIELDS] if chinese else FIELDS)
    for i in range(n):
        row = wide_row(rng, i, clinics[i % len(clinics)], month, f"{prefix}{i:012d}")
        writer.writerow([row[f] for f in FIELDS])
    return buffer.getvalue().encode()


def column_type(name: str) -> str:
    kind = KIND.get(name, "C30")
    if name == "setl_time":
        return "timestamp"
    return {"N16,2": "numeric(12,2)", "N5,4": "numeric(5,4)", "N4,1": "numeric(4,1)", "date": "date"}.get(kind, "text")


def checkpoint() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def bare_copy_seconds(data: bytes) -> float:
    """COPY of the file's bytes (header included, HEADER true) into an unindexed table created and
    committed before; the COPY commits on its own (autocommit), as the import commits."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_copy")
        cursor.execute("CREATE TABLE bench_bare_copy (" + ", ".join(f"{f} {column_type(f)}" for f in FIELDS) + ")")
    checkpoint()
    with connection.cursor() as cursor:
        started = time.perf_counter()
        with cursor.cursor.copy("COPY bench_bare_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(data)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_bare_copy")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_bare_copy")
    assert copied == data.count(b"\n") - 1, copied
    return seconds


LANE_SLOW: list[int] = []  # rows the fast lane handed to the SQL engine, per import
_real_lane_run = FastLane.run


def _counting_lane_run(self, cursor, context, raw):
    result = _real_lane_run(self, cursor, context, raw)
    LANE_SLOW.append(-1 if result is None else len(result.slow_rows))
    return result


FastLane.run = _counting_lane_run


def timed_import(data: bytes, filename: str) -> tuple[float, tuple, int]:
    checkpoint()
    started = time.perf_counter()
    batch = settlements_import(source="upload", data=data, filename=filename)
    seconds = time.perf_counter() - started
    slow = LANE_SLOW[-1] if LANE_SLOW else -1
    return seconds, (batch.accepted, batch.duplicates, batch.rejected, batch.warned), slow


def raise_upload_limits(results: dict, size: int, rows: int) -> None:
    """The bench's files may be over the site's upload limits: raised in this process only."""
    for name, wanted in (("UPLOAD_MAX_BYTES", size + 1), ("UPLOAD_MAX_ROWS", rows + 1)):
        current = int(getattr(settings, name))
        if wanted > current:
            setattr(settings, name, wanted)
            results.setdefault("limits", {})[name] = (current, wanted)


def part_import(args, clinics, results: dict) -> None:
    ensure_partitions([IMPORT_MONTH])
    # The generator, checked: a sample must pass every rule and every relation, all in the lane.
    sample = make_file(clinics, 5000, IMPORT_MONTH, prefix="BS", chinese=args.chinese_header)
    _s, counts, slow = timed_import(sample, "bench-sample.csv")
    assert counts == (5000, 0, 0, 0) and slow == 0, ("the sample did not pass cleanly", counts, slow)
    results["sample"] = (counts, slow)

    files = [make_file(clinics, args.rows, IMPORT_MONTH, prefix=f"BI{r}", chinese=args.chinese_header)
             for r in range(args.rounds)]
    results["file_mb"] = len(files[0]) / 1e6
    raise_upload_limits(results, max(map(len, files)), args.rows)
    results["reference_s"] = reference_loop_seconds()
    bare, imports = [], []
    for r, data in enumerate(files):
        bare.append(bare_copy_seconds(data))
        seconds, counts, slow = timed_import(data, f"bench-import-{r}.csv")
        assert counts == (args.rows, 0, 0, 0), counts
        imports.append((seconds, counts, slow))
        print(f"  round {r + 1}: bare COPY {bare[-1]:.2f} s, import {seconds:.2f} s {counts}, lane handed on {slow}",
              flush=True)
    results["bare"] = bare
    results["imports"] = imports
    seconds, counts, slow = timed_import(files[0], "bench-import-again.csv")
    results["reimport"] = (seconds, counts, slow)


def reference_loop_seconds() -> float:
    """A fixed piece of pure Python work: this machine is a VM whose speed varies with its host's
    load; the figure tells the runs apart."""
    started, total = time.perf_counter(), 0
    for i in range(30_000_000):
        total += i
    return time.perf_counter() - started


# --- Generated months (parts 2 to 4) --------------------------------------------------------------

RECORD_COLUMNS = (
    "setl_id, mdtrt_id, psn_no, psn_name, certno_masked, insutype, clr_type, medfee_sumamt, fund_pay_sumamt, "
    "hifp_pay, maf_pay, acct_pay, psn_cash_pay, settled_at, facility_id, atddr_no, init_setl_id, recorded_at, "
    "is_demo, psn_cert_type, gend, naty, brdy, age, psn_type, cvlserv_flag, mdtrt_cert_type, med_type, "
    "fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc, pool_prop_selfpay, "
    "cvlserv_pay, hifes_pay, hifmi_pay, hifob_pay, oth_pay, psn_part_amt, hosp_part_amt, balc, acct_mulaid_pay, "
    "medins_setl_id, clr_optins, clr_way"
)


def record_select(setl_id: str, init_setl_id: str, shift: str) -> str:
    """The SELECT list of a generated settlement of generate_series `g` (placeholders: prefix,
    month start, offset, clinic ids, clinic count, masked ID number): every 2207 field filled, the
    amounts adding up (medfee = 40.00 funds + 2.00 account + cash + the clinic's share)."""
    hosp = "(CASE WHEN g %% 8 = 0 THEN 1.00 ELSE 0.00 END)"
    return f"""{setl_id}, 'M' || %(prefix)s || g, '4510280000' || lpad((g %% 50000)::text, 10, '0'), '基准患者',
        %(certno)s, CASE WHEN g %% 10 = 0 THEN '310' ELSE '390' END, '11',
        50.00 + (g %% 7), 40.00, 35.00, 5.00, 2.00, 8.00 + (g %% 7) - {hosp},
        %(start)s::timestamptz + ((g - %(offset)s) %% 2419200) * interval '1 second'{shift},
        (%(clinics)s::bigint[])[1 + g %% %(n_clinics)s], 'D451028' || lpad((g %% 176)::text, 5, '0'), {init_setl_id},
        now(), true, '01', (1 + g %% 2)::text, '08', date '1950-01-01' + (g %% 20000), 30.5, '1501', '0',
        '01', CASE WHEN g %% 7 = 0 THEN '14' ELSE '11' END, 0.00, 0.00, 0.00, 50.00 + (g %% 7), 0.00, 0.7000,
        0.00, 0.00, 0.00, 0.00, 0.00, 10.00 + (g %% 7) - {hosp}, {hosp}, 120.00, 0.00,
        'HIS' || g, '451028', '01'"""


SETL_ID_SQL = "%(prefix)s || lpad(g::text, 12, '0')"
REVERSAL_ID_SQL = "%(prefix)s || 'R' || lpad(g::text, 11, '0')"


def generate_records(cursor, clinic_ids: list[int], month: datetime.date, n: int, prefix: str, offset: int = 0,
                     reverse_every: int = 0) -> None:
    """n settlements of `month` straight from generate_series (and, with `reverse_every`, a reversal
    of every so many of them, a minute later), with their keys: what lookups by setl_id go through;
    the fingerprint is a stand-in, the bench never resends these rows."""
    ensure_partitions([month])
    params = {"prefix": prefix, "start": f"{month:%Y-%m-%d} 00:00:00+08", "offset": offset, "clinics": clinic_ids,
              "n_clinics": len(clinic_ids), "first": offset, "last": offset + n - 1,
              "certno": mask_id_number("451028198506150012"), "every": reverse_every or 1}
    select = record_select(SETL_ID_SQL, "''", "")
    cursor.execute(
        f"INSERT INTO settlements_settlementrecord ({RECORD_COLUMNS}) SELECT {select} "
        "FROM generate_series(%(first)s, %(last)s) g",
        params,
    )
    if reverse_every:
        select = record_select(REVERSAL_ID_SQL, SETL_ID_SQL, " + interval '60 seconds'")
        cursor.execute(
            f"INSERT INTO settlements_settlementrecord ({RECORD_COLUMNS}) SELECT {select} "
            "FROM generate_series(%(first)s, %(last)s) g WHERE g %% %(every)s = 0",
            params,
        )
    cursor.execute(
        f"""INSERT INTO settlements_settlementkey (setl_id, settled_at, fingerprint, facility_id, init_setl_id)
        SELECT setl_id, settled_at, md5(setl_id), facility_id, NULLIF(init_setl_id, '') FROM {partition_name(month)}
         WHERE setl_id LIKE %s""",
        [f"{prefix}%"],
    )


def result_file(detail: bytes, msgid: str) -> bytes:
    """The platform's 3202 result for the exported detail file: psn_no, mdtrt_id, setl_id, msgid,
    stmt_rslt, refd_setl_flag, memo, medfee_sumamt, fund_pay_sumamt, acct_pay; TAB, no header,
    "null" for empty."""
    lines = []
    for number, line in enumerate(detail.decode().split("\n"), start=1):
        setl_id, mdtrt_id, psn_no, medfee, fund, acct, flag = line.split("\t")
        if number % 1000 == 0:  # the clinic has more: the centre has no amounts
            lines.append("\t".join([psn_no, mdtrt_id, setl_id, msgid, "2", flag, "中心无此结算", "null", "null", "null"]))
        elif number % 997 == 0:
            higher = f"{float(medfee) + (1 if flag == '0' else -1):.2f}"
            lines.append("\t".join([psn_no, mdtrt_id, setl_id, msgid, "3", flag, "金额不一致", higher, fund, acct]))
        else:
            lines.append("\t".join([psn_no, mdtrt_id, setl_id, msgid, "0", flag, "null", medfee, fund, acct]))
    for k in range(500):  # settlements only the centre has
        lines.append("\t".join([f"4510289999{k:010d}", f"CENTRE{k:08d}", f"CENTREONLY{k:08d}", msgid, "1", "0",
                                "机构无此结算", "12.00", "10.00", "0.00"]))
    return "\n".join(lines).encode()


def part_reconciliation(args, clinics, clinic_ids: list[int], results: dict) -> None:
    clinic = clinics[0]
    with transaction.atomic(), connection.cursor() as cursor:
        generate_records(cursor, [clinic.pk], RECON_MONTH, args.recon_rows, "BR", reverse_every=500)
    # Generated straight into the log: roll the month up as `rebuild_settlement_stats --month` does.
    started = time.perf_counter()
    rebuild_month_stats(RECON_MONTH)
    results["rebuild_s"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE settlements_settlementrecord")
        cursor.execute(f"SELECT count(*) FROM {partition_name(RECON_MONTH)} WHERE facility_id = %s", [clinic.pk])
        results["recon_month_rows"] = cursor.fetchone()[0]
    begin, end = month_period(RECON_MONTH)
    checkpoint()
    started = time.perf_counter()
    recs = reconciliation_compute(begin=begin, end=end, facility_ids=clinic_ids)
    results["compute_s"] = time.perf_counter() - started
    results["compute_lines"] = (len(recs), sum(r.totals.count() for r in recs), sum(r.our_count for r in recs))
    started = time.perf_counter()
    reconciliation_compute(begin=begin, end=end, facility_ids=clinic_ids)
    results["recompute_s"] = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "bench-3202.txt"
        checkpoint()
        started = time.perf_counter()
        call_command("export_reconciliation_detail", month=f"{RECON_MONTH:%Y-%m}", clinic=clinic.code, out=str(out),
                     stdout=io.StringIO())
        results["export_s"] = time.perf_counter() - started
        detail = out.read_bytes()
    results["export_lines"] = detail.count(b"\n") + 1
    results["export_mb"] = len(detail) / 1e6
    result = result_file(detail, f"{clinic.platform_code}{RECON_MONTH:%Y%m}300000000001"[:30])
    results["result_lines"] = result.count(b"\n") + 1
    results["result_mb"] = len(result) / 1e6
    raise_upload_limits(results, len(result), results["result_lines"])
    checkpoint()
    started = time.perf_counter()
    report = result_import(data=result, filename="result.txt", facility=clinic, begin=begin, end=end)
    results["result_import_s"] = time.perf_counter() - started
    rec = report.reconciliation
    results["result_outcome"] = {
        "rows": len(report.items), "matched": rec.matched, "amounts differ": rec.amounts_differ,
        "missing at the centre": rec.missing_at_bureau, "missing here": rec.missing_here,
        "other scope": rec.other_scope, "unexplained": rec.unexplained, "not in the result": report.not_in_result,
    }


def part_admin(args, clinic_ids: list[int], results: dict) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM settlements_settlementrecord")
        present = cursor.fetchone()[0]
    per_month = max(0, args.admin_rows - present) // ADMIN_MONTHS
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
    client = Client(HTTP_HOST="127.0.0.1")  # DEBUG off: a host in ALLOWED_HOSTS
    client.force_login(user)
    month = f"{add_months(ADMIN_FIRST_MONTH, 3):%Y-%m}"
    pages = {
        "unfiltered": "/admin/settlements/settlementrecord/",
        "page 50": "/admin/settlements/settlementrecord/?p=50",
        "one month": f"/admin/settlements/settlementrecord/?month={month}",
        "one clinic": f"/admin/settlements/settlementrecord/?clinic={clinic_ids[5]}",
        "setl_id search": f"/admin/settlements/settlementrecord/?q=BA{max(per_month, 1) * 3 + 5:012d}",
        "clinic and month": f"/admin/settlements/settlementrecord/?clinic={clinic_ids[5]}&month={month}",
    }
    results["admin"] = {}
    try:
        for label, url in pages.items():
            client.get(url)  # warm
            timings = []
            for _ in range(3):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(url)
                    timings.append(time.perf_counter() - started)
                assert response.status_code == 200, (url, response.status_code)
            results["admin"][label] = (min(timings) * 1000, statistics.median(timings) * 1000,
                                       len(queries.captured_queries))
    finally:
        get_user_model().objects.filter(username="bench-admin").delete()


def part_import_at_scale(args, results: dict) -> None:
    # The file import again, now that the log holds the admin part's rows and the key table as many
    # keys: another month's file of new settlements, twice. "BZ…" IDs sort after every recorded
    # one, as new settlement IDs do on the platform: the keys go at the right edge of the key
    # index. "BJ…" IDs sort between recorded ones ("BI…", "BR…"): each key goes down the index to
    # its place, the harder case.
    clinics = list(Facility.objects.filter(code__startswith=CODE_PREFIX).order_by("code"))
    ensure_partitions([IMPORT_AT_SCALE_MONTH])
    results["scale_import"] = {}
    for prefix in ("BZ", "BJ"):
        data = make_file(clinics, args.rows, IMPORT_AT_SCALE_MONTH, prefix=prefix, chinese=args.chinese_header)
        results["scale_import"][prefix] = timed_import(data, "bench-import-at-scale.csv")


# --- --engines ------------------------------------------------------------------------------------


def python_engine_only(context, messages, rows, raw, lane):
    """`services.imports._run_engine` as it would be without the SQL engine: every row the lane does
    not take (here: all of them) read by the Python engine."""
    return PythonEngine(context, messages).run(rows())


def engines(args, clinics, results: dict) -> None:
    """The same kind of rows through the lane, the SQL engine alone and the Python engine, fresh IDs
    each (prefixes the cleanup removes), in this order."""
    real_engine = import_service._run_engine
    results["engines"] = {}
    for label, prefix, lane_off, python in [
        ("fast lane (+ SQL engine for the rest)", "BY", False, False),
        ("SQL engine alone (lane off)", "BJ", True, False),
        ("Python engine on PostgreSQL (lane off)", "BZ", True, True),
    ]:
        data = make_file(clinics, args.rows, IMPORT_MONTH, prefix=prefix, chinese=args.chinese_header)
        FastLane.run = (lambda self, *a: None) if lane_off else _counting_lane_run
        import_service._run_engine = python_engine_only if python else real_engine
        try:
            seconds, counts, _slow = timed_import(data, "bench-engines.csv")
        finally:
            FastLane.run, import_service._run_engine = _counting_lane_run, real_engine
        results["engines"][label] = (seconds, counts)


# --- Around the parts -----------------------------------------------------------------------------


def all_months() -> list[datetime.date]:
    return [IMPORT_MONTH, RECON_MONTH, IMPORT_AT_SCALE_MONTH] + [add_months(ADMIN_FIRST_MONTH, i) for i in range(ADMIN_MONTHS)]


def cleanup(clinic_ids: list[int]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_copy")
        for month in all_months():
            cursor.execute(f"DROP TABLE IF EXISTS {partition_name(month)}")
        cursor.execute("ALTER TABLE settlements_settlementkey DISABLE TRIGGER settlements_key_append_only")
        cursor.execute(
            "DELETE FROM settlements_settlementkey WHERE " + " OR ".join(f"setl_id LIKE '{p}%%'" for p in SETL_PREFIXES)
        )
        cursor.execute("ALTER TABLE settlements_settlementkey ENABLE TRIGGER settlements_key_append_only")
        cursor.execute("DELETE FROM settlements_settlementmonthstat WHERE facility_id = ANY(%s)", [clinic_ids])
    Reconciliation.objects.filter(facility_id__in=clinic_ids).delete()  # its lines and result rows with it
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
    parser.add_argument("--rows", type=int, default=200_000, help="rows of each import file (part 1 and 4)")
    parser.add_argument("--rounds", type=int, default=3, help="baseline/import rounds of part 1 (at least 3)")
    parser.add_argument("--recon-rows", type=int, default=1_000_000, help="settlements of the reconciled month")
    parser.add_argument("--admin-rows", type=int, default=5_000_000, help="rows in the log for the admin list")
    parser.add_argument("--chinese-header", action="store_true", help="head the columns with their Chinese names")
    parser.add_argument("--keep", action="store_true", help="keep the bench data (for looking at it)")
    parser.add_argument("--import-only", action="store_true", help="only part 1, the file import")
    parser.add_argument("--engines", action="store_true", help="part 5: the file through each engine")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3")
    if connection.vendor != "postgresql":
        sys.exit("The settlement bench needs PostgreSQL (DATABASE_URL=postgres://…).")
    call_command("migrate", verbosity=0)
    guard(all_months())
    clinics = bench_clinics()
    clinic_ids = [c.pk for c in clinics]
    results: dict = {}
    try:
        part_import(args, clinics, results)
        if args.engines:
            engines(args, clinics, results)
        if not args.import_only:
            part_reconciliation(args, clinics, clinic_ids, results)
            part_admin(args, clinic_ids, results)
            part_import_at_scale(args, results)
    finally:
        FastLane.run = _real_lane_run
        if not args.keep:
            cleanup(clinic_ids)
    report(results, args)


def report(results: dict, args) -> None:
    print(f"machine speed: reference Python loop {results['reference_s']:.2f} s (less on a faster or quieter host)")
    for name, (before, now) in results.get("limits", {}).items():
        print(f"{name} raised for this run: {before:,} -> {now:,}")
    print(f"sample of 5,000 rows: accepted/duplicates/rejected/warned {results['sample'][0]}, "
          f"lane handed on {results['sample'][1]}")
    print(f"file: {args.rows:,} rows x {len(FIELDS)} columns, {results['file_mb']:.1f} MB")
    bare = results["bare"]
    imports = [s for s, _c, _l in results["imports"]]
    bare_med, imp_med = statistics.median(bare), statistics.median(imports)
    print(f"bare COPY ({args.rounds}x): min {min(bare):.2f} s, median {bare_med:.2f} s "
          f"({args.rows / bare_med:,.0f} rows/s)")
    print(f"import    ({args.rounds}x): min {min(imports):.2f} s, median {imp_med:.2f} s "
          f"({args.rows / imp_med:,.0f} rows/s); {[c for _s, c, _l in results['imports']]}, "
          f"lane handed on {[sl for _s, _c, sl in results['imports']]}")
    print(f"ratio import / bare COPY: medians {imp_med / bare_med:.1f}x, mins {min(imports) / min(bare):.1f}x")
    seconds, counts, slow = results["reimport"]
    print(f"round 1's file again (all duplicates): {seconds:.2f} s; {counts}, lane handed on {slow}")
    for label, (seconds, counts) in results.get("engines", {}).items():
        print(f"engine {label}: {seconds:.2f} s = {args.rows / seconds:,.0f} rows/s, "
              f"{seconds / bare_med:.1f}x median bare COPY; {counts}")
    if "compute_s" not in results:
        return
    print(f"reconciliation month: {results['recon_month_rows']:,} rows of one clinic "
          f"({args.recon_rows:,} settlements + {args.recon_rows // 500:,} reversals); "
          f"rollup rebuilt in {results['rebuild_s']:.1f} s")
    recs, lines, net = results["compute_lines"]
    print(f"  reconciliation_compute (3201) of the month: {results['compute_s']:.2f} s "
          f"({recs} reconciliation, {lines} lines, net count {net:,}); again, unchanged: {results['recompute_s']:.2f} s")
    print(f"  3202 detail export (export_reconciliation_detail): {results['export_s']:.2f} s, "
          f"{results['export_lines']:,} lines, {results['export_mb']:.1f} MB")
    print(f"  3202 result import (result_import): {results['result_import_s']:.2f} s, {results['result_lines']:,} lines, "
          f"{results['result_mb']:.1f} MB; {results['result_outcome']}")
    print(f"admin list at {results['admin_total_rows']:,} rows (generated in {results['generate_s']:.0f} s):")
    for label, (ms, median_ms, queries) in results["admin"].items():
        print(f"  {label}: min {ms:.0f} ms, median {median_ms:.0f} ms, {queries} queries")
    for prefix, (seconds, counts, slow) in results["scale_import"].items():
        where = "after every recorded key" if prefix == "BZ" else "between recorded keys"
        print(f"import of another {args.rows:,}-row month with {results['admin_total_rows']:,} rows in the log, IDs {where}: "
              f"{seconds:.2f} s = {args.rows / seconds:,.0f} rows/s; {counts}, lane handed on {slow}")


if __name__ == "__main__":
    main()
