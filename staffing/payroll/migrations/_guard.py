"""Shared by the payroll guard migrations."""

from django.db import migrations


class SqliteOnlySQL(migrations.RunSQL):
    """RunSQL that runs on SQLite (the embedded `make run`) and is a no-op elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "sqlite":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def sqlite_delete_triggers() -> list[str]:
    from importlib import import_module

    guard = import_module("staffing.payroll.migrations.0002_approved_run_guard")
    return [sql for sql in guard.SQLITE_FORWARD if " BEFORE DELETE " in sql]
