# Placeholder of the platform institution code's work this session (kept in the chain so parallel work does not conflict).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0002_auditentry_moved_to_core"),
    ]

    operations = []
