"""Benchmark: generating one month's duty roster in bulk.

    # the county: 88 Leye clinics on a scratch SQLite file (default)
    .venv/bin/python bench/roster_generate.py --scale county
    # the province: 14,000 synthetic clinics on PostgreSQL (own database)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cunyi_rosters \
        .venv/bin/python bench/roster_generate.py --scale province

January–September 2026 are planned first (unmeasured, so October's fairness counts have nine
months of history to read), then October 2026 — the National Day month — is timed and its queries
counted; then October is regenerated (drafts replaced) and timed again. Not part of CI.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=["county", "province"], default="county")
    parser.add_argument("--clinics", type=int, default=14000, help="synthetic clinics for --scale province")
    parser.add_argument("--repeat", type=int, default=3, help="regenerations, each followed by its baseline COPY")
    args = parser.parse_args()
    from _setup import start_django

    start_django(scale=args.scale, scratch_name="bench-rosters.sqlite3")
    import datetime

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinics.models import Facility
    from staffing.rosters.models import CoverageGap, DutyDay, RosterMonth
    from staffing.rosters.services.generation import roster_generate
    from staffing.rosters.services.holidays import holiday_year_load

    call_command("migrate", verbosity=0)
    holiday_year_load(year=2026)
    if args.scale == "county":
        call_command("load_seeds", "--quiet-logins", verbosity=0)
        # The seeds plan the demo months; start 2026 from an empty roster table instead.
        CoverageGap.objects.all().delete()
        DutyDay.objects.all().delete()
        RosterMonth.objects.all().delete()
    else:
        have = Facility.objects.filter(code__startswith="99").count()
        if have < args.clinics:
            call_command("seed_synthetic", "--clinics", str(args.clinics - have))
    clinics = Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, is_active=True).count()
    print(f"{connection.vendor}: {clinics} active village clinics")

    started = time.perf_counter()
    planned = set(RosterMonth.objects.filter(month__year=2026).values_list("month", flat=True).distinct())
    history = [datetime.date(2026, m, 1) for m in range(1, 10) if datetime.date(2026, m, 1) not in planned]
    for month in history:
        roster_generate(month=month)
    print(
        f"January–September: {len(history)} months planned in {time.perf_counter() - started:.1f} s "
        f"(history for the fairness counts; months already planned on this database are kept)"
    )

    if connection.vendor == "postgresql":
        # What autovacuum has done to the months already planned by the time the next is (this
        # bench's server runs without it): vacuumed and analysed. The timed month is planned into
        # a fresh table each time, so this changes nothing the timing writes.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE rosters_dutyday")

    october = RosterMonth.objects.filter(month=datetime.date(2026, 10, 1))
    CoverageGap.objects.filter(roster__in=october).delete()
    DutyDay.objects.filter(roster__in=october).delete()
    october.delete()  # so the first timing is a first plan, not a regeneration
    def timed(label):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = roster_generate(month=datetime.date(2026, 10, 1))
            elapsed = time.perf_counter() - started
        print(
            f"{label}: {elapsed:.2f} s, {len(queries.captured_queries)} queries, {result.clinics} clinics, "
            f"{result.duties} duties, {result.gaps} gaps", flush=True,
        )
        return elapsed

    timed("October, first plan")
    if connection.vendor != "postgresql":
        timed("October, regenerated")
    else:
        from _baseline import copy_baseline, interleave, report

        fields = ["roster_id", "facility_id", "doctor_id", "date", "duty", "day_kind", "source"]
        rows = list(DutyDay.objects.filter(roster__in=october).values_list(*fields))
        columns = [(f, "bigint") for f in fields[:3]] + [("date", "date")] + [(f, "varchar(10)") for f in fields[4:]]
        works, bases = interleave(
            lambda: timed("October, regenerated"), lambda: copy_baseline(columns=columns, rows=rows), repeat=args.repeat
        )
        report(f"roster month regenerated ({len(rows)} rows) vs bare COPY of the same rows", works, bases)
    print(f"duty rows in the table: {DutyDay.objects.count()}")


if __name__ == "__main__":
    main()
