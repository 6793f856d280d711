"""A line's and a policy row's component is validated against the pay-component registry
(staffing.payroll.components) instead of a fixed list of choices: the choices are a callable, so
adding a component needs no migration. Only the field's choices change; no column, no row."""

from django.db import migrations, models

import staffing.payroll.models


class Migration(migrations.Migration):
    dependencies = [("payroll", "0005_bank_account_acknowledgement")]

    operations = [
        migrations.AlterField(
            model_name="payslipline",
            name="component",
            field=models.CharField(choices=staffing.payroll.models.component_choices, max_length=30, verbose_name="component"),
        ),
        migrations.AlterField(
            model_name="policycomponent",
            name="component",
            field=models.CharField(choices=staffing.payroll.models.policy_component_choices, max_length=30, verbose_name="component"),
        ),
    ]
