# Schema of issue 14's "policy" part (owned by that part; a linear chain so parallel work never conflicts):
# the family-doctor contract register, the contract service fee on the pay policy (with its shares
# adding up to 100%, checked by the database), and the resident's own payment as a funding source.
from decimal import Decimal

import django.db.models.deletion
import django.db.models.expressions
import django.db.models.lookups
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from staffing.payroll.migrations._guard import sqlite_guards_lifted


class Migration(migrations.Migration):
    dependencies = [
        ("payroll", "0011_tax_filing"),
        ("staffing", "0006_doctor_wecom_userid"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ContractRegister',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('service_year', models.PositiveSmallIntegerField(help_text='The contract service year (签约服务年度), January to December.', verbose_name='service year')),
                ('residents', models.PositiveIntegerField(verbose_name='contracted residents')),
                ('households', models.PositiveIntegerField(blank=True, help_text='Distinct household numbers in the list; empty when the list gives none.', null=True, verbose_name='contracted households')),
                ('source', models.CharField(help_text='The file (or demo data) the counts come from.', max_length=200, verbose_name='contract list')),
                ('imported_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='imported')),
                ('assessment_score', models.DecimalField(blank=True, decimal_places=2, help_text='0–100. When the policy pays the fee by assessment, it is paid once this is recorded, scaled by it.', max_digits=5, null=True, verbose_name="year's assessment score")),
                ('assessment_recorded_at', models.DateTimeField(blank=True, null=True, verbose_name='score recorded')),
                ('assessment_paid_month', models.DateField(blank=True, help_text='The run that pays the fee by assessment (set when the score is first recorded).', null=True, verbose_name='paid by assessment in month')),
                ('is_demo', models.BooleanField(default=False, verbose_name='demo data')),
            ],
            options={
                'verbose_name': 'contract register entry',
                'verbose_name_plural': 'family-doctor contract register',
                'ordering': ['-service_year', 'doctor__name'],
            },
        ),
        migrations.CreateModel(
            name='ResidentContract',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('service_year', models.PositiveSmallIntegerField(verbose_name='service year')),
                ('resident_key', models.CharField(editable=False, max_length=64, verbose_name='resident ID lookup hash')),
                ('resident_id_masked', models.CharField(max_length=20, verbose_name='resident ID number (masked)')),
                ('resident_name_masked', models.CharField(max_length=50, verbose_name='resident (masked)')),
                ('signed_on', models.DateField(verbose_name='signed on')),
                ('package', models.CharField(blank=True, max_length=100, verbose_name='service package')),
                ('household', models.CharField(blank=True, max_length=40, verbose_name='household number')),
                ('row_number', models.PositiveIntegerField(verbose_name='row in the list')),
            ],
            options={
                'verbose_name': 'resident contract',
                'verbose_name_plural': 'resident contracts',
                'ordering': ['register', 'row_number'],
            },
        ),
        *sqlite_guards_lifted(
            migrations.AddField(
                model_name='paypolicy',
                name='contract_fee_insurance_share',
                field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=5, verbose_name='share from the medical-insurance fund (%)'),
            ),
            migrations.AddField(
                model_name='paypolicy',
                name='contract_fee_payment',
                field=models.CharField(choices=[('monthly', 'Monthly: fee × contracts ÷ 12'), ('by_assessment', "By assessment: once the year's score is recorded, scaled by it")], default='monthly', max_length=15, verbose_name='contract service fee paid'),
            ),
            migrations.AddField(
                model_name='paypolicy',
                name='contract_fee_per_year',
                field=models.DecimalField(blank=True, decimal_places=2, help_text='Yuan per contracted resident per service year. Empty: taken from the county version (none if it has none either).', max_digits=12, null=True, verbose_name='contract service fee per contract per year'),
            ),
            migrations.AddField(
                model_name='paypolicy',
                name='contract_fee_public_health_share',
                field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=5, verbose_name='share from basic public-health service funds (%)'),
            ),
            migrations.AddField(
                model_name='paypolicy',
                name='contract_fee_resident_share',
                field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=5, verbose_name='share paid by the resident (%)'),
            ),
            funding=True,
        ),
        migrations.AlterField(
            model_name='payslipline',
            name='funding_source',
            field=models.CharField(blank=True, choices=[('county_finance', 'County finance'), ('public_health_fund', 'Basic public-health service funds'), ('essential_medicines_fund', 'Essential-medicines system funds'), ('medical_insurance', 'Medical-insurance fund'), ('township_centre', 'Township health centre'), ('performance_fund', 'Performance assessment fund'), ('doctor', 'Withheld from the doctor'), ('resident', "Resident's own payment")], max_length=30, verbose_name='funding source'),
        ),
        migrations.AlterField(
            model_name='paysliplinefunding',
            name='source',
            field=models.CharField(choices=[('county_finance', 'County finance'), ('public_health_fund', 'Basic public-health service funds'), ('essential_medicines_fund', 'Essential-medicines system funds'), ('medical_insurance', 'Medical-insurance fund'), ('township_centre', 'Township health centre'), ('performance_fund', 'Performance assessment fund'), ('doctor', 'Withheld from the doctor'), ('resident', "Resident's own payment")], max_length=30, verbose_name='funding source'),
        ),
        migrations.AlterField(
            model_name='policycomponent',
            name='funding_source',
            field=models.CharField(choices=[('county_finance', 'County finance'), ('public_health_fund', 'Basic public-health service funds'), ('essential_medicines_fund', 'Essential-medicines system funds'), ('medical_insurance', 'Medical-insurance fund'), ('township_centre', 'Township health centre'), ('performance_fund', 'Performance assessment fund'), ('doctor', 'Withheld from the doctor'), ('resident', "Resident's own payment")], max_length=30, verbose_name='funding source'),
        ),
        migrations.AddConstraint(
            model_name='paypolicy',
            constraint=models.CheckConstraint(condition=models.Q(('contract_fee_per_year__isnull', True), models.Q(('contract_fee_per_year__gte', 0), ('contract_fee_insurance_share__gte', 0), ('contract_fee_public_health_share__gte', 0), ('contract_fee_resident_share__gte', 0), django.db.models.lookups.Exact(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('contract_fee_insurance_share'), '+', models.F('contract_fee_public_health_share')), '+', models.F('contract_fee_resident_share')), Decimal('100'))), _connector='OR'), name='payroll_policy_contract_fee_shares_100', violation_error_message="The contract service fee's shares (medical-insurance fund, public-health funds, resident) must each be 0 or more and add up to 100%."),
        ),
        migrations.AddField(
            model_name='contractregister',
            name='doctor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='contract_years', to='staffing.doctor', verbose_name='doctor'),
        ),
        migrations.AddField(
            model_name='contractregister',
            name='imported_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='imported by'),
        ),
        migrations.AddField(
            model_name='residentcontract',
            name='register',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='contracts', to='payroll.contractregister', verbose_name='register entry'),
        ),
        migrations.AddIndex(
            model_name='contractregister',
            index=models.Index(fields=['service_year'], name='payroll_con_service_73c760_idx'),
        ),
        migrations.AddIndex(
            model_name='contractregister',
            index=models.Index(fields=['assessment_paid_month'], name='payroll_con_assessm_3f9ac1_idx'),
        ),
        migrations.AddConstraint(
            model_name='contractregister',
            constraint=models.UniqueConstraint(fields=('doctor', 'service_year'), name='payroll_contracts_once_per_doctor_year', violation_error_message='This doctor already has a register entry for this service year.'),
        ),
        migrations.AddConstraint(
            model_name='contractregister',
            constraint=models.CheckConstraint(condition=models.Q(('assessment_score__isnull', True), models.Q(('assessment_score__gte', 0), ('assessment_score__lte', 100)), _connector='OR'), name='payroll_contracts_score_0_100', violation_error_message='A score is between 0 and 100.'),
        ),
        migrations.AddConstraint(
            model_name='contractregister',
            constraint=models.CheckConstraint(condition=models.Q(('service_year__gte', 2000), ('service_year__lte', 2100)), name='payroll_contracts_year_range', violation_error_message='A service year is between 2000 and 2100.'),
        ),
        migrations.AddConstraint(
            model_name='residentcontract',
            constraint=models.UniqueConstraint(fields=('service_year', 'resident_key'), name='payroll_resident_one_contract_per_year', violation_error_message='This resident already has a contract for this service year.'),
        ),
    ]

