# Schema of issue 14's "tax" part (owned by that part; a linear chain so parallel work never conflicts):
# special additional deductions, the one-off bonus tax rule and method, the insurance split for the
# tax filing. Then the data step (kept apart, reversible): the 2023年第30号 bonus rule.
import datetime
from decimal import Decimal

import django.db.models.deletion
import django.db.models.expressions
import django.db.models.functions.datetime
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

RULE_2023_30 = {
    "name": "全年一次性奖金单独计税",
    "basis": "财政部 税务总局公告2023年第30号",
    "valid_from": datetime.date(2023, 1, 1),
    "valid_until": datetime.date(2027, 12, 31),
    "brackets": [["3000", "0.03", "0"], ["12000", "0.10", "210"], ["25000", "0.20", "1410"], ["35000", "0.25", "2660"],
                 ["55000", "0.30", "4410"], ["80000", "0.35", "7160"], [None, "0.45", "15160"]],
}


def seed_rule(apps, schema_editor):
    rule = apps.get_model("payroll", "BonusTaxRule")
    if not rule.objects.filter(basis=RULE_2023_30["basis"]).exists():
        rule.objects.create(**RULE_2023_30)


def unseed_rule(apps, schema_editor):
    apps.get_model("payroll", "BonusTaxRule").objects.filter(basis=RULE_2023_30["basis"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payroll", "0010_bank_formats"),
        ("staffing", "0006_doctor_wecom_userid"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BonusTaxRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                ("basis", models.CharField(help_text="The announcement that sets the rule, for example 财政部 税务总局公告2023年第30号.", max_length=200, verbose_name="legal basis")),
                ("valid_from", models.DateField(verbose_name="valid from")),
                ("valid_until", models.DateField(blank=True, help_text="Empty: until further notice.", null=True, verbose_name="valid until")),
                ("brackets", models.JSONField(help_text='Rows of [upper bound of bonus ÷ 12, rate, quick deduction], the last with no bound, for example [["3000", "0.03", "0"], …, [null, "0.45", "15160"]].', verbose_name="monthly rate table")),
                ("notes", models.TextField(blank=True, verbose_name="notes")),
            ],
            options={"verbose_name": "one-off bonus tax rule", "verbose_name_plural": "one-off bonus tax rules", "ordering": ["-valid_from"]},
        ),
        migrations.CreateModel(
            name="SpecialDeduction",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="First day of the month the deductions are for.", verbose_name="month")),
                ("children_education", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=12, verbose_name="children's education")),
                ("continuing_education", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=12, verbose_name="continuing education")),
                ("mortgage_interest", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=12, verbose_name="housing loan interest")),
                ("housing_rent", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=12, verbose_name="housing rent")),
                ("elderly_care", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=12, verbose_name="elderly care")),
                ("infant_care", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=12, verbose_name="infant care (under 3)")),
                ("personal_pension", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=12, verbose_name="personal pension")),
                ("source", models.CharField(choices=[("entered", "Entered in admin"), ("imported", "Imported from the tax client's export")], default="entered", max_length=10, verbose_name="source")),
                ("entered_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="entered")),
                ("doctor", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="special_deductions", to="staffing.doctor", verbose_name="doctor")),
                ("entered_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="entered by")),
            ],
            options={
                "verbose_name": "special additional deduction",
                "verbose_name_plural": "special additional deductions",
                "ordering": ["-month", "doctor__name"],
                "indexes": [models.Index(fields=["month"], name="payroll_spe_month_3514fb_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("doctor", "month"), name="payroll_one_special_deduction_per_month", violation_error_message="This doctor already has special deductions for this month; edit that row."),
                    models.CheckConstraint(condition=models.Q(("children_education__gte", 0), ("continuing_education__gte", 0), ("mortgage_interest__gte", 0), ("housing_rent__gte", 0), ("elderly_care__gte", 0), ("infant_care__gte", 0), ("personal_pension__gte", 0)), name="payroll_special_deduction_not_negative", violation_error_message="A deduction cannot be negative."),
                    models.CheckConstraint(condition=models.Q(("mortgage_interest", 0), ("housing_rent", 0), _connector="OR"), name="payroll_mortgage_or_rent", violation_error_message="Housing loan interest and housing rent cannot both be deducted in the same month."),
                ],
            },
        ),
        migrations.AddField(
            model_name="insurancescheme",
            name="medical_rate",
            field=models.DecimalField(decimal_places=4, default=Decimal("0"), help_text="For the tax filing: the part of the employee rate that is basic medical insurance, for example 0.0200.", max_digits=6, verbose_name="of which medical rate"),
        ),
        migrations.AddField(
            model_name="insurancescheme",
            name="unemployment_rate",
            field=models.DecimalField(decimal_places=4, default=Decimal("0"), help_text="For the tax filing: the part of the employee rate that is unemployment insurance, for example 0.0050. The rest is pension.", max_digits=6, verbose_name="of which unemployment rate"),
        ),
        migrations.AddField(
            model_name="oneoffitem",
            name="tax_method",
            field=models.CharField(choices=[("auto", "Automatic: the cheaper for the doctor"), ("separate", "Separately (annual one-off bonus)"), ("combined", "With the month's income")], default="auto", help_text="For an annual one-off bonus only. Automatic: the calculation uses the cheaper method for the doctor and records it on the payslip.", max_length=10, verbose_name="bonus tax method"),
        ),
        migrations.AddConstraint(
            model_name="insurancescheme",
            constraint=models.CheckConstraint(condition=models.Q(("medical_rate__gte", 0), ("unemployment_rate__gte", 0), ("employee_rate__gte", django.db.models.expressions.CombinedExpression(models.F("medical_rate"), "+", models.F("unemployment_rate")))), name="payroll_scheme_split_within_rate", violation_error_message="The medical and unemployment rates are parts of the employee rate: not negative, and together not above it."),
        ),
        migrations.AddConstraint(
            model_name="oneoffitem",
            constraint=models.CheckConstraint(condition=models.Q(("kind", "bonus"), ("tax_method", "auto"), _connector="OR"), name="payroll_tax_method_only_for_bonus", violation_error_message="Only a one-off bonus has a tax method."),
        ),
        migrations.AddConstraint(
            model_name="oneoffitem",
            constraint=models.UniqueConstraint(django.db.models.functions.datetime.ExtractYear("month"), models.F("doctor"), condition=models.Q(("kind", "bonus"), ("tax_method", "separate")), name="payroll_one_separate_bonus_per_year", violation_error_message="This doctor already has a separately taxed annual bonus in this tax year; only one a year may be taxed separately. Tax this one with the month's income."),
        ),
        migrations.AddConstraint(
            model_name="bonustaxrule",
            constraint=models.CheckConstraint(condition=models.Q(("valid_until__isnull", True), ("valid_until__gte", models.F("valid_from")), _connector="OR"), name="payroll_bonus_rule_dates_in_order", violation_error_message="A rule cannot end before it starts."),
        ),
        migrations.RunPython(seed_rule, unseed_rule),
    ]
