"""On PostgreSQL, a doctor's pending or approved leave requests may not overlap (an exclusion
constraint over daterange; btree_gist is created by staffing 0002). The service checks first and
gives the friendly message; this makes it true under concurrency."""

from django.db import migrations

from core.db import PostgresOnlySQL


class Migration(migrations.Migration):
    dependencies = [("rosters", "0001_initial"), ("staffing", "0002_posting_no_overlap")]

    operations = [
        PostgresOnlySQL(
            """
            ALTER TABLE rosters_leaverequest ADD CONSTRAINT leave_no_overlap
            EXCLUDE USING gist (doctor_id WITH =, daterange(start_date, end_date, '[]') WITH &&)
            WHERE (status IN ('pending', 'approved'))
            """,
            reverse_sql="ALTER TABLE rosters_leaverequest DROP CONSTRAINT leave_no_overlap",
        ),
    ]
