"""Fill a PostgreSQL database with province-scale settlements for `bench/dashboard.py` (not run in CI).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cunyi_settle2 \
        .venv/bin/python bench/settlement_dashboard_data.py [--rows 1100000] [--months 24]

Needs `manage.py load_seeds` and `manage.py seed_synthetic --clinics 14000` first. Spreads the
rows over the last `--months` months (up to today) across every village clinic enabled for
settlement, one CSV file a month, imported through `settlements_import` (COPY path), so the log,
its key table and the monthly rollup are filled the way production fills them. Every 400th
settlement is followed by its reversal. Rerunning changes nothing (the files are duplicates).
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
os.environ.setdefault("DEBUG", "false")  # production's setting: benches never run with DEBUG on

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from clinics.models import Facility  # noqa: E402
from clinics.settlements.partitions import add_months  # noqa: E402
from clinics.settlements.rules import FIELDS  # noqa: E402
from clinics.settlements.services import settlements_import  # noqa: E402


def month_file(codes: list[str], month: datetime.date, n: int, last_day: int) -> bytes:
    rng = random.Random(month.toordinal())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for i in range(n):
        hifp, maf, acct, cash = rng.randrange(1500, 6000), rng.choice([0, 0, 500]), rng.choice([0, 200]), rng.randrange(300, 1500)
        fund = hifp + maf
        code = codes[rng.randrange(len(codes))]
        amounts = [f"{(fund + acct + cash) / 100:.2f}", f"{fund / 100:.2f}", f"{hifp / 100:.2f}", f"{maf / 100:.2f}",
                   f"{acct / 100:.2f}", f"{cash / 100:.2f}"]
        when = f"{month:%Y-%m}-{1 + i % last_day:02d} {8 + i % 10:02d}:{i % 60:02d}:{(i // 60) % 60:02d}"
        setl_id = f"DB{month:%Y%m}{i:08d}"
        insutype, clr_type = ("390" if i % 10 else "310"), ("11" if i % 7 else "14")
        writer.writerow([setl_id, f"MDB{month:%Y%m}{i:08d}", f"P{i % 50000:010d}", "基准患者", "", insutype, clr_type,
                         *amounts, when, code, f"D{i % 176:08d}", ""])
        if i % 400 == 399:
            writer.writerow([f"RV{month:%Y%m}{i:08d}", f"MDB{month:%Y%m}{i:08d}", f"P{i % 50000:010d}", "基准患者", "",
                             insutype, clr_type, *amounts, when, code, f"D{i % 176:08d}", setl_id])
    return buffer.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_100_000)
    parser.add_argument("--months", type=int, default=24)
    args = parser.parse_args()
    codes = list(Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, is_active=True, settlement_enabled=True)
                 .values_list("code", flat=True))
    today = timezone.localdate()
    this_month = today.replace(day=1)
    per_month = args.rows // args.months
    total = 0
    for k in range(args.months - 1, -1, -1):
        month = add_months(this_month, -k)
        last_day = today.day - 1 if month == this_month else 28
        data = month_file(codes, month, per_month, max(last_day, 1))
        started = time.perf_counter()
        batch = settlements_import(source="command", data=data, filename=f"dashboard-{month:%Y-%m}.csv")
        total += batch.accepted
        print(f"{month:%Y-%m}: {batch.total_rows} rows, accepted {batch.accepted}, duplicates {batch.duplicates}, "
              f"rejected {batch.rejected} in {time.perf_counter() - started:.1f} s", flush=True)
    print(f"{len(codes)} clinics, {total} settlements accepted")


if __name__ == "__main__":
    main()
