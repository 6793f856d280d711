"""Each payslip line's funding split: one row per funding source with its part of the amount."""

import django.db.models.deletion
from django.db import migrations, models

SOURCES = [
    ("county_finance", "County finance"),
    ("public_health_fund", "Basic public-health service funds"),
    ("essential_medicines_fund", "Essential-medicines system funds"),
    ("medical_insurance", "Medical-insurance fund"),
    ("township_centre", "Township health centre"),
    ("performance_fund", "Performance assessment fund"),
    ("doctor", "Withheld from the doctor"),
]


class Migration(migrations.Migration):
    dependencies = [("payroll", "0006_component_codes_from_registry")]

    operations = [
        migrations.CreateModel(
            name="PayslipLineFunding",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("source", models.CharField(choices=SOURCES, max_length=30, verbose_name="funding source")),
                ("amount", models.DecimalField(decimal_places=2, max_digits=12, verbose_name="amount")),
                (
                    "line",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="funding", to="payroll.payslipline",
                                      verbose_name="payslip line"),
                ),
            ],
            options={
                "verbose_name": "payslip line funding",
                "verbose_name_plural": "payslip line funding",
                "ordering": ["line", "id"],
                "indexes": [models.Index(fields=["source"], name="payroll_pay_source_529fc4_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("line", "source"), name="payroll_line_funding_once_per_source"),
                    models.CheckConstraint(condition=models.Q(("amount__gte", 0)), name="payroll_line_funding_not_negative"),
                ],
            },
        ),
    ]
