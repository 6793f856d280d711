"""On PostgreSQL, a doctor's postings may not overlap in time (an exclusion constraint over
daterange). The services check first and give the friendly message; this makes it true under
concurrency. SQLite (the embedded `make run`) relies on the service check."""

from django.db import migrations

from core.db import PostgresOnlySQL


class Migration(migrations.Migration):
    dependencies = [("staffing", "0001_initial")]

    operations = [
        PostgresOnlySQL("CREATE EXTENSION IF NOT EXISTS btree_gist", reverse_sql=migrations.RunSQL.noop),
        PostgresOnlySQL(
            """
            ALTER TABLE staffing_posting ADD CONSTRAINT posting_no_overlap
            EXCLUDE USING gist (doctor_id WITH =, daterange(start_date, end_date, '[]') WITH &&)
            """,
            reverse_sql="ALTER TABLE staffing_posting DROP CONSTRAINT posting_no_overlap",
        ),
    ]
