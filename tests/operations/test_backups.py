"""Backups that are proven: a seeded database backed up, restored into a scratch database, and
found the same — row counts of every table and each pay run's net total."""

import datetime
import os
import sqlite3
import stat

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from core.errors import Refused
from operations.backups import backup_database, backups_in, prune_backups, restore_database

SCRATCH = "cunyi_ops_restore_check"


def _connect(name: str):
    db = settings.DATABASES["default"]
    return psycopg.connect(dbname=name, host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"] or None,
                           password=db["PASSWORD"] or None, autocommit=True)  # fmt: skip


def _row_counts(name: str) -> dict[str, int]:
    with _connect(name) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1").fetchall()]  # fmt: skip
        return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def _pay_totals(name: str) -> dict:
    from staffing.payroll.models import Payslip

    with _connect(name) as conn:
        return dict(conn.execute(f"SELECT run_id, sum(net) FROM {Payslip._meta.db_table} GROUP BY run_id ORDER BY 1").fetchall())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_seeded_database_restores_with_the_same_rows_and_pay_totals(tmp_path, county_admin):
    call_command("load_seeds", "--quiet-logins", stdout=open(os.devnull, "w"))  # last month's run is paid by the seeds
    live = settings.DATABASES["default"]["NAME"]
    before_counts, before_pay = _row_counts(live), _pay_totals(live)
    assert before_pay and all(total > 0 for total in before_pay.values())
    assert before_counts["staffing_doctor"] == 176

    path = backup_database(directory=tmp_path / "backups")
    assert path.name.endswith(".dump") and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    try:
        restore_database(path, into=SCRATCH, replace=True)
        after_counts, after_pay = _row_counts(SCRATCH), _pay_totals(SCRATCH)
    finally:
        with _connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}"')
    assert after_counts == before_counts
    assert after_pay == before_pay
    print(f"restored {len(after_counts)} tables, {sum(after_counts.values())} rows; pay runs {after_pay}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_restore_into_the_live_database_is_refused(tmp_path):
    path = backup_database(directory=tmp_path)
    live = settings.DATABASES["default"]["NAME"]
    with pytest.raises(Refused, match="正在使用的数据库"):  # zh-hans, the default language
        restore_database(path, into=live)
    with translation.override("en"), pytest.raises(CommandError, match="live database"):
        call_command("restore_database", str(path), "--into", live)
    with pytest.raises(Refused):
        restore_database(path, into="x; DROP DATABASE postgres")


@pytest.mark.django_db(transaction=True)
def test_a_sqlite_backup_is_a_readable_owner_only_copy(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite form of the backup")
    from django.contrib.auth.models import User

    User.objects.create_user(username="kept-in-backup")
    path = backup_database(directory=tmp_path, prune=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    copy = sqlite3.connect(path)
    assert copy.execute("SELECT username FROM auth_user WHERE username = 'kept-in-backup'").fetchone() == ("kept-in-backup",)
    copy.close()
    assert not list(tmp_path.glob("*.partial"))


def test_pruning_keeps_the_newest_daily_and_monthly_copies(tmp_path):
    names = []
    start = datetime.datetime(2026, 6, 1, 2, 40)
    for day in range(0, 120, 1):  # one backup a night for four months, two on the last night
        at = start + datetime.timedelta(days=day)
        names.append(f"cunyi-{at:%Y%m%d-%H%M%S}.dump")
    names.append("cunyi-20260928-120000.dump")
    for name in names + ["notes.txt"]:
        (tmp_path / name).write_text("x")
    deleted = prune_backups(directory=tmp_path, keep_daily=3, keep_monthly=3)
    kept = sorted(path.name for _at, path in backups_in(tmp_path))
    assert kept == [
        "cunyi-20260731-024000.dump",  # newest of July
        "cunyi-20260831-024000.dump",  # newest of August
        "cunyi-20260926-024000.dump",
        "cunyi-20260927-024000.dump",
        "cunyi-20260928-120000.dump",  # newest of the last day (and of September)
    ]
    assert (tmp_path / "notes.txt").exists()
    assert len(deleted) == len(names) - 5
