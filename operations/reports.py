"""Reports read from the "reports" database alias: a read-only session on the primary, or a
streaming replica once REPORTS_DATABASE_URL names one (docs/SCALING.md).

    with reading_reports():
        rows = monthly_totals(user=user, start=…, end=…)

Inside the block every ORM read goes to "reports"; writes still go to the primary (the router
sends them to "default"), and a write through the "reports" connection itself is refused by
PostgreSQL (default_transaction_read_only)."""

import contextlib
import contextvars

_reading = contextvars.ContextVar("cunyi_reading_reports", default=False)


@contextlib.contextmanager
def reading_reports():
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


class ReportsRouter:
    def db_for_read(self, model, **hints):
        return "reports" if _reading.get() else None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # both aliases hold the same database

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"
