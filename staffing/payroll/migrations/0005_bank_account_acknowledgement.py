"""The approver's acknowledgement of bank-account changes, recorded on the pay run. On SQLite
the run guard's triggers are lifted around the columns' addition and put back (see _guard)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from staffing.payroll.migrations._guard import sqlite_guards_lifted


class Migration(migrations.Migration):

    dependencies = [
        ('payroll', '0004_statement_level_guard'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = sqlite_guards_lifted(
        migrations.AddField(
            model_name='payrun',
            name='bank_changes_acknowledged',
            field=models.JSONField(blank=True, default=list, verbose_name='bank-account changes acknowledged'),
        ),
        migrations.AddField(
            model_name='payrun',
            name='bank_changes_acknowledged_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='bank-account changes acknowledged at'),
        ),
        migrations.AddField(
            model_name='payrun',
            name='bank_changes_acknowledged_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='bank-account changes acknowledged by'),
        ),
    )
