# Placeholder of Idempotency-Key's work this session (kept in the chain so parallel work does not conflict).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_job_file"),
    ]

    operations = []
