"""On PostgreSQL a patient may not hold two overlapping consults: an exclusion constraint over
(patient_key, tstzrange(starts_at, ends_at)) for bookings that hold their time. The booking
service checks first for the friendly message; this makes it true under concurrency. SQLite
(the embedded `make run`) serialises writers and relies on the service check."""

from django.db import migrations

from core.db import PostgresOnlySQL


class Migration(migrations.Migration):
    dependencies = [("telemedicine", "0001_initial")]

    operations = [
        PostgresOnlySQL("CREATE EXTENSION IF NOT EXISTS btree_gist", reverse_sql=migrations.RunSQL.noop),
        PostgresOnlySQL(
            """
            ALTER TABLE telemedicine_consultbooking ADD CONSTRAINT booking_patient_no_overlap
            EXCLUDE USING gist (patient_key WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
            WHERE (status IN ('requested', 'confirmed', 'in_progress', 'completed', 'no_show'))
            """,
            reverse_sql="ALTER TABLE telemedicine_consultbooking DROP CONSTRAINT booking_patient_no_overlap",
        ),
    ]
