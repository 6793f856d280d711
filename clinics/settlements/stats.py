"""The monthly rollup of the settlement log (`SettlementMonthStat`).

Every ingest adds its accepted rows' totals in the same transaction as it inserts them, with one
additive upsert per (clinic, month, insutype, clr_type):

    INSERT INTO stat … SELECT … GROUP BY … ORDER BY …
    ON CONFLICT (facility_id, month, insutype, clr_type) DO UPDATE SET visits = stat.visits + excluded.visits, …

which is exact under concurrent uploads (the conflicting row is locked and re-read, the increments
commute; ORDER BY keeps the lock order the same in every upload, so two uploads do not deadlock).
`rebuild` recomputes months from the log (`manage.py rebuild_settlement_stats`); on PostgreSQL it
locks the rollup against ingest while it works, so an upload running at the same time is counted
exactly once (either already in the log it reads, or added after it commits).
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from clinics.settlements.models import AMOUNT_FIELDS, SettlementMonthStat
from clinics.settlements.partitions import add_months, month_start
from core.db import is_postgres

STAT = SettlementMonthStat._meta.db_table
LOG = "settlements_settlementrecord"
LOCAL_TZ = "Asia/Shanghai"
KEY = ["facility_id", "month", "insutype", "clr_type"]
VALUES = ["visits", "reversals", *AMOUNT_FIELDS]


def month_sql(column: str = "settled_at") -> str:
    """The Beijing-time month of a timestamp column, as a date (first day). China keeps no daylight
    saving time, so on SQLite (UTC text) it is eight hours ahead."""
    if is_postgres(connection):
        return f"(date_trunc('month', {column} AT TIME ZONE '{LOCAL_TZ}'))::date"
    return f"strftime('%%Y-%%m-01', {column}, '+8 hours')"


def _upsert_tail() -> str:
    updates = ", ".join(f"{name} = {STAT}.{name} + excluded.{name}" for name in VALUES)
    return f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"


def upsert_from_sql(source: str) -> str:
    """An INSERT … SELECT that adds the totals of the log rows `source` yields (a table name or a
    CTE with the log's columns) to the rollup."""
    signed = ", ".join(f"sum(CASE WHEN r.init_setl_id = '' THEN r.{a} ELSE -r.{a} END)" for a in AMOUNT_FIELDS)
    return (
        f"INSERT INTO {STAT} ({', '.join(KEY + VALUES)}) "
        f"SELECT r.facility_id, {month_sql('r.settled_at')}, r.insutype, r.clr_type, "
        f"sum(CASE WHEN r.init_setl_id = '' THEN 1 ELSE -1 END), "
        f"sum(CASE WHEN r.init_setl_id = '' THEN 0 ELSE 1 END), {signed} "
        f"FROM {source} r WHERE true GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 "
        + _upsert_tail()
    )


def add_rows(rows) -> int:
    """Add accepted rows, given as objects with the log's attributes (the Python engine), to the
    rollup. Returns the number of rollup lines touched."""
    totals: dict[tuple, list] = defaultdict(lambda: [0, 0] + [Decimal("0.00")] * len(AMOUNT_FIELDS))
    tz = timezone.get_default_timezone()
    for row in rows:
        month = timezone.localtime(row.settled_at, tz).date().replace(day=1)
        line = totals[(row.facility_id, month, row.insutype, row.clr_type)]
        sign = -1 if row.init_setl_id else 1
        line[0] += sign
        line[1] += 1 if row.init_setl_id else 0
        for i, name in enumerate(AMOUNT_FIELDS, start=2):
            line[i] += sign * getattr(row, name)
    return add_totals(totals)


def add_totals(totals: dict[tuple, list]) -> int:
    """Add {(facility_id, month, insutype, clr_type): [visits, reversals, *amounts]} to the
    rollup, in key order (the lock order every upload keeps). Returns the lines touched."""
    if not totals:
        return 0
    placeholders = ", ".join(["%s"] * (len(KEY) + len(VALUES)))
    sql = f"INSERT INTO {STAT} ({', '.join(KEY + VALUES)}) VALUES ({placeholders}) " + _upsert_tail()
    params = [[*key[:1], key[1], *key[2:], *line] for key, line in sorted(totals.items())]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(params)


@transaction.atomic
def rebuild(month: datetime.date | None = None) -> int:
    """Recompute the rollup from the log: one month (any day of it) or everything. Returns the
    number of rollup lines written."""
    with connection.cursor() as cursor:
        if is_postgres(connection):
            # Blocks ingest's upserts (ROW EXCLUSIVE) until this commits, and waits for those in
            # flight: a concurrent upload is then either in the log read below or added after.
            cursor.execute(f"LOCK TABLE {STAT} IN EXCLUSIVE MODE")
        if month is None:
            cursor.execute(f"DELETE FROM {STAT}")
            source = LOG
            params: list = []
        else:
            first = month_start(month)
            cursor.execute(f"DELETE FROM {STAT} WHERE month = %s", [first])
            tz = timezone.get_default_timezone()
            start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min), tz)
            end = timezone.make_aware(datetime.datetime.combine(add_months(first, 1), datetime.time.min), tz)
            source = f"(SELECT * FROM {LOG} WHERE settled_at >= %s AND settled_at < %s)"
            params = [start, end]
        cursor.execute(upsert_from_sql(source), params)
        return cursor.rowcount


def recomputed(month: datetime.date | None = None) -> dict[tuple, tuple]:
    """The rollup as it should be, straight from the log (for checks and tests)."""
    from clinics.settlements.models import SettlementRecord
    from clinics.settlements.selectors import month_bounds

    queryset = SettlementRecord.objects.all()
    if month is not None:
        start, end = month_bounds(month)
        queryset = queryset.filter(settled_at__gte=start, settled_at__lt=end)
    totals: dict[tuple, list] = defaultdict(lambda: [0, 0] + [Decimal("0.00")] * len(AMOUNT_FIELDS))
    tz = timezone.get_default_timezone()
    for record in queryset.iterator(chunk_size=5000):
        line = totals[(record.facility_id, timezone.localtime(record.settled_at, tz).date().replace(day=1),
                       record.insutype, record.clr_type)]
        sign = -1 if record.init_setl_id else 1
        line[0] += sign
        line[1] += 1 if record.init_setl_id else 0
        for i, name in enumerate(AMOUNT_FIELDS, start=2):
            line[i] += sign * Decimal(record.__dict__[name]).quantize(Decimal("0.01"))
    return {key: tuple(line) for key, line in totals.items()}


def stored(month: datetime.date | None = None) -> dict[tuple, tuple]:
    """The rollup as stored, in the shape of `recomputed`."""
    queryset = SettlementMonthStat.objects.all()
    if month is not None:
        queryset = queryset.filter(month=month_start(month))
    return {
        (s.facility_id, s.month, s.insutype, s.clr_type): (
            s.visits, s.reversals, *(Decimal(getattr(s, a)).quantize(Decimal("0.01")) for a in AMOUNT_FIELDS)
        )
        for s in queryset
    }
