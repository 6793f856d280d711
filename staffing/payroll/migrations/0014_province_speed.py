"""Indexes and set-wise checks for the province-scale pay run (issue 18).

Landed empty (a reserved place in the chain), so databases migrated then have recorded it as
applied: its operations are therefore in 0016_pay_run_checks, which every database runs."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payroll", "0013_review")]

    operations = []
