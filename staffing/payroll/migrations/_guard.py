"""Shared by the payroll guard migrations."""

import re

from core.db import SqliteOnlySQL

__all__ = ["SqliteOnlySQL", "sqlite_delete_triggers", "sqlite_guards_lifted"]


def _sqlite_forward() -> list[str]:
    from importlib import import_module

    return import_module("staffing.payroll.migrations.0002_approved_run_guard").SQLITE_FORWARD


def sqlite_delete_triggers() -> list[str]:
    return [sql for sql in _sqlite_forward() if " BEFORE DELETE " in sql]


def sqlite_guards_lifted(*operations):
    """`operations` with SQLite's guard triggers (the INSERT and UPDATE ones 0003 kept) dropped
    before and created again after. SQLite rebuilds a table to add most columns; the rebuild's
    rename fails while a trigger on another table names the run table, and the run table's own
    trigger would be lost with the old table."""
    kept = [sql for sql in _sqlite_forward() if " BEFORE DELETE " not in sql]
    names = [re.match(r"CREATE TRIGGER (\w+)", sql).group(1) for sql in kept]
    drops = [f"DROP TRIGGER IF EXISTS {name};" for name in names]
    return [SqliteOnlySQL(drops, kept), *operations, SqliteOnlySQL(kept, drops)]
