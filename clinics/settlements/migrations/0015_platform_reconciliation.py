# Placeholder of 3201/3202 reconciliation's work this session (kept in the chain so parallel work does not conflict).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0014_platform_dictionaries"),
    ]

    operations = []
