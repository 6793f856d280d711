"""A province's month of duties written in one pass: the rows go by COPY into a table of their
own that replaces the month's partition (PostgreSQL). Rows in general go through
`core.bulk.bulk_insert`."""

import datetime
from collections.abc import Iterable

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import IntegrityError, connection
from django.utils.translation import gettext as _

from core.bulk import copy_rows

# --- A month of duties loaded as its own partition (PostgreSQL) ----------------------------------
#
# On PostgreSQL `rosters_dutyday` is partitioned by month (migration 0010). A plan of many rows
# (the province's month: ~700,000) is not inserted into the table, where each row would fire two
# deferred foreign-key triggers and update five indexes one entry at a time. The month is rebuilt
# beside it instead: a plain table of the same columns and CHECKs takes the rows kept (those of
# rosters not being replaced) and the new ones by COPY, then replaces the month's partition.
# ATTACH PARTITION builds the indexes in one sort each, checks the unique constraints, and
# validates both foreign keys (doctor, roster) with one anti-join each: the same guarantee as the
# row triggers, set-wise. A bad reference fails the attach, so nothing of the plan is kept.

PARTITION_LOAD_MIN_ROWS = 20_000  # below this, the rows go into the table (no rebuild of the month)


def duty_partition_name(month: datetime.date) -> str:
    return f"rosters_dutyday_{month:%Y_%m}"


def duty_month_load(*, model, month: datetime.date, fields: list[str], rows: Iterable[tuple], replaced_rosters) -> int:
    """Replace the month's duties of the rosters in `replaced_rosters` (a queryset of roster ids)
    by `rows` (values in the order of `fields`; any iterable, consumed while the COPY runs, so it
    must not query), rebuilding the month's partition. Returns the number of rows loaded. PostgreSQL only;
    the caller holds the transaction. Raises ValidationError when a row points at a doctor or
    roster that does not exist (or breaks a unique rule): nothing is then written."""
    meta = model._meta
    quote = connection.ops.quote_name
    parent = meta.db_table
    partition = duty_partition_name(month)
    staging = f"{partition}_load"
    start, end = month, (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    try:
        replaced_sql, replaced_params = replaced_rosters.query.sql_with_params()
    except EmptyResultSet:  # no roster replaced
        replaced_sql, replaced_params = "SELECT NULL::bigint WHERE false", ()
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {quote(staging)} (LIKE {quote(parent)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        # The table's own id sequence, named once: a default that looked it up (pg_get_serial_sequence)
        # would do so for every row, ≈ 4 µs each — more than the rest of the COPY.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [parent])
        sequence = cursor.fetchone()[0]
        cursor.execute(
            f"ALTER TABLE {quote(staging)} ALTER COLUMN id SET DEFAULT nextval(%s::regclass), "
            f"ADD CONSTRAINT {quote(staging + '_month')} CHECK (date >= %s AND date < %s)",
            [sequence, start, end],
        )
        cursor.execute(
            f"INSERT INTO {quote(staging)} SELECT * FROM {quote(parent)} WHERE date >= %s AND date < %s "
            f"AND roster_id NOT IN ({replaced_sql})",
            [start, end, *replaced_params],
        )
        loaded = copy_rows(cursor, f"COPY {quote(staging)} ({columns}) FROM STDIN", rows)
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition])
        if cursor.fetchone()[0]:
            cursor.execute(f"ALTER TABLE {quote(parent)} DETACH PARTITION {quote(partition)}")
            cursor.execute(f"DROP TABLE {quote(partition)}")
        else:  # the month's rows so far sit in the default partition; they were copied above
            cursor.execute(f"DELETE FROM {quote(parent + '_default')} WHERE date >= %s AND date < %s", [start, end])
        cursor.execute(f"ALTER TABLE {quote(staging)} RENAME TO {quote(partition)}")
        try:
            cursor.execute(
                f"ALTER TABLE {quote(parent)} ATTACH PARTITION {quote(partition)} FOR VALUES FROM (%s) TO (%s)", [start, end]
            )
        except IntegrityError as exc:
            raise ValidationError(
                _(
                    "The plan for %(month)s was not saved: a duty points at a doctor or roster that no longer exists, "
                    "or repeats a doctor's day (%(detail)s). Plan the month again."
                )
                % {"month": f"{month:%Y-%m}", "detail": str(exc).splitlines()[0]},
                code="bad_reference",
            ) from exc
    return loaded
