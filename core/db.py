"""Database helpers shared by the apps: PostgreSQL-only migration steps (exclusion constraints,
partitions, triggers) that SQLite skips, since SQLite runs the embedded `make run`."""

from django.db import migrations


class VendorOnlySQL(migrations.RunSQL):
    """RunSQL that runs on one database vendor (`vendor`) and is a no-op elsewhere."""

    vendor = ""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresOnlySQL(VendorOnlySQL):
    vendor = "postgresql"


class SqliteOnlySQL(VendorOnlySQL):
    """For SQLite (the embedded `make run`) where PostgreSQL has its own form of a guard."""

    vendor = "sqlite"


def is_postgres(connection) -> bool:
    return connection.vendor == "postgresql"
