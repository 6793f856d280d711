"""Monthly partitions of the settlement log on PostgreSQL (no-ops elsewhere).

A partition holds one calendar month of `settled_at` in Asia/Shanghai time. They are created
ahead by the periodic task `create_settlement_partitions_task` and on demand by every ingest
for the months its rows fall in, so an insert never meets a missing partition."""

import datetime
import re

from django.db import connection

from core.db import is_postgres
from core.months import add_months, month_start

TABLE = "settlements_settlementrecord"
PARTITION_RE = re.compile(rf"^{TABLE}_p(\d{{4}})_(\d{{2}})$")






def partition_name(month: datetime.date) -> str:
    return f"{TABLE}_p{month:%Y_%m}"


def existing_partition_months() -> set[datetime.date]:
    if not is_postgres(connection):
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        months = set()
        for (name,) in cursor.fetchall():
            match = PARTITION_RE.match(name)
            if match:
                months.add(datetime.date(int(match[1]), int(match[2]), 1))
        return months


def ensure_partitions(months) -> list[str]:
    """Create the monthly partitions that do not exist yet; returns the names created."""
    if not is_postgres(connection):
        return []
    months = {month_start(m) for m in months}
    if not months - existing_partition_months():
        return []
    created = []
    with connection.cursor() as cursor:
        # Two uploads may want the same new month at once: the second waits here until the
        # first commits, then sees its partition. (IF NOT EXISTS alone is not safe across
        # concurrent transactions.)
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
        wanted = months - existing_partition_months()
        for month in sorted(wanted):
            name = partition_name(month)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+08') TO ('{add_months(month, 1):%Y-%m-%d} 00:00:00+08')"
            )
            created.append(name)
    return created


def ensure_partitions_ahead(*, today: datetime.date, months_back: int = 1, months_ahead: int = 3) -> list[str]:
    first = month_start(today)
    return ensure_partitions(add_months(first, n) for n in range(-months_back, months_ahead + 1))
