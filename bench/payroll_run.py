"""Benchmark: calculating a month's pay run.

    # the county: Leye's 176 demo doctors on a scratch SQLite file (default)
    .venv/bin/python bench/payroll_run.py --scale county
    # the province: 28,000 synthetic doctors on PostgreSQL (own database)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cunyi_payroll \
        .venv/bin/python bench/payroll_run.py --scale province

Setup (not timed): seeds (or `seed_synthetic --clinics 14000`), the October 2026 roster generated
and published, synthetic insured visits for October (half named by practitioner), and September
2026 calculated and approved, so October also re-checks an approved month for corrections.
Timed: October calculated the first time, then recalculated (lines rewritten, payslips kept),
each with its query count. Not part of CI.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def synthetic_visits(month, per_doctor: int) -> int:
    import datetime
    from decimal import Decimal

    from django.utils import timezone

    from clinics.settlements.models import SettlementRecord
    from staffing.models import Posting

    if SettlementRecord.objects.filter(setl_id__startswith="BENCHPAY").exists():
        return 0
    tz = timezone.get_default_timezone()
    rows, n = [], 0
    for facility_id, code in Posting.objects.filter(end_date__isnull=True).values_list("facility_id", "doctor__insurance_code"):
        for k in range(per_doctor):
            n += 1
            rows.append(SettlementRecord(
                setl_id=f"BENCHPAY{n:09d}", mdtrt_id=f"M{n:09d}", psn_no=f"P{n:09d}", psn_name="合成患者", insutype="390",
                clr_type="11", medfee_sumamt=Decimal("30"), fund_pay_sumamt=Decimal("20"), hifp_pay=Decimal("20"),
                maf_pay=Decimal("0"), acct_pay=Decimal("0"), psn_cash_pay=Decimal("10"),
                settled_at=datetime.datetime(month.year, month.month, 1 + k % 28, 10, 0, tzinfo=tz),
                facility_id=facility_id, atddr_no=(code or "") if k % 2 else "", is_demo=True,
            ))
    SettlementRecord.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=["county", "province"], default="county")
    parser.add_argument("--clinics", type=int, default=14000, help="synthetic clinics for --scale province")
    parser.add_argument("--repeat", type=int, default=3, help="recalculations, each followed by its baseline COPY")
    parser.add_argument("--visits", type=int, default=None, help="insured visits per doctor (default 60 county, 6 province)")
    args = parser.parse_args()
    from _setup import start_django

    start_django(scale=args.scale, scratch_name="bench-payroll.sqlite3")
    import datetime

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinics.models import Facility
    from staffing.payroll import services
    from staffing.payroll.models import PayRun, Payslip, PayslipLine
    from staffing.payroll.seeding import seed_payroll
    from staffing.rosters.models import RosterMonth
    from staffing.rosters.services.generation import roster_generate
    from staffing.rosters.services.holidays import holiday_year_load
    from staffing.rosters.services.publishing import roster_publish

    september, october = datetime.date(2026, 9, 1), datetime.date(2026, 10, 1)
    call_command("migrate", verbosity=0)
    holiday_year_load(year=2026)
    if args.scale == "county":
        call_command("load_seeds", "--quiet-logins", verbosity=0)
    else:
        have = Facility.objects.filter(code__startswith="99").count()
        if have < args.clinics:
            call_command("seed_synthetic", "--clinics", str(args.clinics - have))
        # After the synthetic doctors, so the demo contract register covers them from the first run
        # (before them, it did only from a second run: 196,000 lines then 252,000).
        seed_payroll({})
        from staffing.payroll.bankfiles.seeding import seed_synthetic_paying_bank

        seed_synthetic_paying_bank()  # the synthetic doctors' bank has a file format: approval is not blocked
    if not RosterMonth.objects.filter(month=october, status=RosterMonth.Status.PUBLISHED).exists():
        roster_generate(month=october)
        roster_publish(month=october, acting_user=None)
    if connection.vendor == "postgresql":
        from clinics.settlements.partitions import ensure_partitions

        ensure_partitions([october])
    visits = synthetic_visits(october, args.visits or (60 if args.scale == "county" else 6))
    print(f"{connection.vendor}: {Facility.objects.filter(kind='village_clinic').count()} village clinics, {visits} visits added")

    PayRun.objects.filter(month__in=[october]).exclude(status__in=["approved", "paid"]).delete()
    if connection.vendor == "postgresql":
        # What autovacuum has done by the time a pay run follows a roster in production (the
        # bench's server runs without it): the new month's duties analysed, the pay tables
        # vacuumed (earlier runs of the bench leave each recalculation's rows dead in them).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE rosters_rostermonth, rosters_dutyday")
            cursor.execute("VACUUM ANALYZE payroll_payslip, payroll_payslipline, payroll_paysliplinefunding")
    run = PayRun.objects.filter(month=september, township__isnull=True).first()
    if run is None or not run.is_locked:
        run = run or services.payrun_create(month=september, acting_user=None)
        started = time.perf_counter()
        run = services.payrun_calculate(run=run, acting_user=None)
        print(f"September (setup): {run.doctor_count} doctors in {time.perf_counter() - started:.2f} s")
        services.payrun_approve(run=run, acting_user=None, acknowledge_warnings=True)

    october_run = PayRun.objects.filter(month=october, township__isnull=True).first()
    if october_run is None:
        october_run = services.payrun_create(month=october, acting_user=None)
    def timed(label):
        nonlocal october_run
        with CaptureQueriesContext(connection) as queries:
            started, cpu = time.perf_counter(), time.process_time()
            october_run = services.payrun_calculate(run=october_run, acting_user=None)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"{label}: {elapsed:.2f} s wall ({cpu:.2f} s Python CPU, load average {os.getloadavg()[0]:.1f}), {len(queries.captured_queries)} queries, {october_run.doctor_count} doctors, "
            f"{PayslipLine.objects.filter(payslip__run=october_run).count()} lines, net {october_run.net_total}", flush=True,
        )
        return elapsed

    timed("October, first calculation")
    if connection.vendor != "postgresql":
        timed("October, recalculated")
    else:
        from _baseline import copy_baseline, interleave, report

        from staffing.payroll.models import PayslipLineFunding
        from staffing.payroll.services.runs import LINE_COLUMNS, PAYSLIP_COLUMNS

        rows = [
            (*row[:-1], json.dumps(row[-1], ensure_ascii=False))
            for row in PayslipLine.objects.filter(payslip__run=october_run).values_list(*LINE_COLUMNS)
        ]
        kinds = {"payslip_id": "bigint", "position": "smallint", "component": "varchar(30)", "kind": "varchar(10)",
                 "description": "varchar(200)", "quantity": "numeric(12,2)", "rate": "numeric(14,4)", "amount": "numeric(12,2)",
                 "taxable": "boolean", "policy_id": "bigint", "funding_source": "varchar(30)", "reference_month": "date",
                 "source": "jsonb"}
        columns = [(name, kinds[name]) for name in LINE_COLUMNS]
        # The second baseline: every row the run writes (its payslips, lines and funding rows),
        # each table COPYed bare; the lines alone are the baseline.
        slip_kinds = {"run_id": "bigint", "doctor_id": "bigint", "month": "date", "facility_id": "bigint", "township_id": "bigint",
                      "payable_days": "smallint", "days_in_month": "smallint", "bank_name": "varchar(100)",
                      "bank_account": "varchar(64)", "warnings": "jsonb"}
        slip_columns = [(name, slip_kinds.get(name, "numeric(12,2)")) for name in PAYSLIP_COLUMNS]
        slip_rows = [
            (*row[:-1], json.dumps(row[-1], ensure_ascii=False))
            for row in Payslip.objects.filter(run=october_run).values_list(*PAYSLIP_COLUMNS)
        ]
        funding_rows = list(PayslipLineFunding.objects.filter(line__payslip__run=october_run).values_list("line_id", "source", "amount"))
        funding_columns = [("line_id", "bigint"), ("source", "varchar(30)"), ("amount", "numeric(12,2)")]
        every_row = []

        def baselines():
            lines_alone = copy_baseline(columns=columns, rows=rows)
            every_row.append(lines_alone + copy_baseline(columns=slip_columns, rows=slip_rows)
                             + copy_baseline(columns=funding_columns, rows=funding_rows))
            return lines_alone

        works, bases = interleave(lambda: timed("October, recalculated"), baselines, repeat=args.repeat)
        report(f"pay run recalculated ({len(rows)} lines) vs bare COPY of the lines", works, bases)
        report(f"pay run recalculated vs bare COPY of every row it writes ({len(slip_rows)} payslips, {len(rows)} lines, "
               f"{len(funding_rows)} funding rows)", works, every_row)
    print(f"payslips in the run: {Payslip.objects.filter(run=october_run).count()}")


if __name__ == "__main__":
    main()
