"""Leave entitlements, admin-entered leave, decision comments, swap consent (issue 16).

Schema: `LeaveRequest.entered_by` (the admin who recorded it), the swap's consent states
(`awaiting` 待同事确认 first, `declined`), `SwapRequest.colleague_answered_at`, `DutyDay.Source.MANUAL`
(a duty reassigned by hand in the grid), `LeaveEntitlement`.

Data: the county's default entitlements (calendar days a year, for every doctor) for 2025–2027;
a later year takes the latest earlier year's until the bureau enters its own:
annual 7 (the statutory minimum of 带薪年休假, 5 working days for 1–10 years of service, is
one calendar week), sick 30, training 15, personal 10.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DEFAULT_DAYS = {"annual": 7, "sick": 30, "training": 15, "personal": 10}
DEFAULT_YEARS = (2025, 2026, 2027)
# Stored data shown in admin, so in the county's language (the default is zh-hans).
NOTE = "全县默认天数（系统预置）"


def entitlement_defaults(apps, schema_editor):
    LeaveEntitlement = apps.get_model("rosters", "LeaveEntitlement")
    for year in DEFAULT_YEARS:
        for kind, days in DEFAULT_DAYS.items():
            LeaveEntitlement.objects.get_or_create(year=year, kind=kind, doctor=None, defaults={"days": days, "note": NOTE})


def entitlement_defaults_remove(apps, schema_editor):
    apps.get_model("rosters", "LeaveEntitlement").objects.filter(doctor=None, note=NOTE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("rosters", "0007_leave_client_ref"),
        ("staffing", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='leaverequest',
            name='entered_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='entered by admin'),
        ),
        migrations.AddField(
            model_name='swaprequest',
            name='colleague_answered_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='colleague answered at'),
        ),
        migrations.AlterField(
            model_name='dutyday',
            name='source',
            field=models.CharField(choices=[('generated', 'Generated'), ('replanned', 'Re-planned after leave'), ('swap', 'Swap'), ('cover', 'Cover from another clinic'), ('manual', 'Changed by hand in the grid')], default='generated', max_length=10, verbose_name='source'),
        ),
        migrations.AlterField(
            model_name='swaprequest',
            name='status',
            field=models.CharField(choices=[('awaiting', "Awaiting the colleague's consent"), ('declined', 'Declined by the colleague'), ('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('cancelled', 'Cancelled')], default='awaiting', max_length=10, verbose_name='status'),
        ),
        migrations.CreateModel(
            name='LeaveEntitlement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('year', models.PositiveSmallIntegerField(verbose_name='year')),
                ('kind', models.CharField(choices=[('annual', 'Annual leave'), ('sick', 'Sick leave'), ('training', 'Training'), ('personal', 'Personal leave')], max_length=10, verbose_name='type of leave')),
                ('days', models.PositiveSmallIntegerField(verbose_name='days a year')),
                ('note', models.CharField(blank=True, max_length=200, verbose_name='note')),
                ('doctor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='leave_entitlements', to='staffing.doctor', verbose_name='doctor (empty: every doctor)')),
            ],
            options={
                'verbose_name': 'leave entitlement',
                'verbose_name_plural': 'leave entitlements',
                'ordering': ['-year', 'kind', 'doctor_id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('doctor__isnull', True)), fields=('year', 'kind'), name='one_county_entitlement_per_year_kind', violation_error_message='The county already has an entitlement of this type for this year.'), models.UniqueConstraint(condition=models.Q(('doctor__isnull', False)), fields=('year', 'kind', 'doctor'), name='one_doctor_entitlement_per_year_kind', violation_error_message='This doctor already has an entitlement of this type for this year.'), models.CheckConstraint(condition=models.Q(('year__gte', 2000), ('year__lte', 2100), ('days__lte', 366)), name='entitlement_year_and_days_in_range', violation_error_message='The year must be between 2000 and 2100 and the days at most 366.')],
            },
        ),
        migrations.RunPython(entitlement_defaults, entitlement_defaults_remove),
    ]
