"""SQLite keeps the INSERT and UPDATE guards of approved runs but drops the DELETE guards:
Django's test-database flush on SQLite empties tables with DELETE in no fixed order, which the
DELETE triggers would refuse once an approved run exists. On SQLite (the embedded `make run`)
deleting an approved run's rows is refused by the services and the admin only; PostgreSQL, the
production database, keeps every guard (its flush uses TRUNCATE, which row triggers do not see)."""
from django.db import migrations

from staffing.payroll.migrations._guard import SqliteOnlySQL, sqlite_delete_triggers

NAMES = ["payroll_payslip_locked_del", "payroll_payslipline_locked_del", "payroll_payrun_locked_del"]


class Migration(migrations.Migration):
    dependencies = [("payroll", "0002_approved_run_guard")]

    operations = [
        SqliteOnlySQL([f"DROP TRIGGER IF EXISTS {name};" for name in NAMES], sqlite_delete_triggers()),
    ]
