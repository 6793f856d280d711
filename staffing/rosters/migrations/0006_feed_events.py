# Placeholder of the calendar feed's work this session (kept in the chain so parallel work does not conflict).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("rosters", "0005_fewer_fk_checks"),
    ]

    operations = []
