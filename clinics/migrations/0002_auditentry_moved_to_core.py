# The audit trail now belongs to core (core 0001 takes it over with the same table); this only
# removes it from clinics' state, so no table is dropped.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0001_initial"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AuditEntry")], database_operations=[]),
    ]
