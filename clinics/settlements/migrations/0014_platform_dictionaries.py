# Placeholder of the code dictionaries's work this session (kept in the chain so parallel work does not conflict).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0013_platform_fields"),
    ]

    operations = []
