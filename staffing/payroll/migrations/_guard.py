"""Shared by the payroll guard migrations."""

from clinics.db import SqliteOnlySQL

__all__ = ["SqliteOnlySQL", "sqlite_delete_triggers"]


def sqlite_delete_triggers() -> list[str]:
    from importlib import import_module

    guard = import_module("staffing.payroll.migrations.0002_approved_run_guard")
    return [sql for sql in guard.SQLITE_FORWARD if " BEFORE DELETE " in sql]
