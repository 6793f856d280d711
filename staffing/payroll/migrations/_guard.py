"""Shared by the payroll guard migrations."""

import re

from core.db import SqliteOnlySQL

__all__ = ["FUNDING_SQLITE_BACKWARD", "FUNDING_SQLITE_FORWARD", "SqliteOnlySQL", "sqlite_delete_triggers", "sqlite_guards_lifted"]

# The funding rows' guards (0009): named paysplit_* (the payroll_* names are the payslip, line
# and run guards).
FUNDING_STATUS = (
    "(SELECT r.status FROM payroll_payrun r JOIN payroll_payslip p ON p.run_id = r.id JOIN payroll_payslipline l "
    "ON l.payslip_id = p.id WHERE l.id = {ref}.line_id)"
)
FUNDING_SQLITE_FORWARD = [
    f"CREATE TRIGGER paysplit_locked_{name} BEFORE {op} ON payroll_paysliplinefunding WHEN {FUNDING_STATUS.format(ref=ref)} "
    "IN ('approved', 'paid') BEGIN SELECT RAISE(ABORT, 'payroll: the pay run is approved; its payslips cannot change'); END;"
    for name, op, ref in (("ins", "INSERT", "NEW"), ("upd", "UPDATE", "OLD"))
]
FUNDING_SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS paysplit_locked_ins;", "DROP TRIGGER IF EXISTS paysplit_locked_upd;"]


def _sqlite_forward() -> list[str]:
    from importlib import import_module

    return import_module("staffing.payroll.migrations.0002_approved_run_guard").SQLITE_FORWARD


def sqlite_delete_triggers() -> list[str]:
    return [sql for sql in _sqlite_forward() if " BEFORE DELETE " in sql]


def sqlite_guards_lifted(*operations, funding: bool = False):
    """`operations` with SQLite's guard triggers (the INSERT and UPDATE ones 0003 kept) dropped
    before and created again after. SQLite rebuilds a table to add most columns; the rebuild's
    rename fails while a trigger on another table names the run table, and the run table's own
    trigger would be lost with the old table. Migrations after 0009 pass `funding=True` to lift
    the funding rows' guards too."""
    kept = [sql for sql in _sqlite_forward() if " BEFORE DELETE " not in sql] + (FUNDING_SQLITE_FORWARD if funding else [])
    names = [re.match(r"CREATE TRIGGER (\w+)", sql).group(1) for sql in kept]
    drops = [f"DROP TRIGGER IF EXISTS {name};" for name in names]
    return [SqliteOnlySQL(drops, kept), *operations, SqliteOnlySQL(kept, drops)]
