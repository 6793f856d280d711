"""The funding rows of an approved (or paid) run's lines are frozen like the lines: PostgreSQL
refuses INSERT, UPDATE and DELETE with a statement-level trigger, SQLite INSERT and UPDATE (its
DELETE guards went in 0003, see there). Same message as the payslip and line guards."""

from django.db import migrations

from core.db import PostgresOnlySQL
from staffing.payroll.migrations._guard import FUNDING_SQLITE_BACKWARD, FUNDING_SQLITE_FORWARD, SqliteOnlySQL

LOCKED = "('approved', 'paid')"
MESSAGE = "payroll: the pay run is approved; its payslips cannot change"
LOCKED_ROWS = """
        SELECT 1 FROM {rows} f JOIN payroll_payslipline l ON l.id = f.line_id JOIN payroll_payslip p ON p.id = l.payslip_id
          JOIN payroll_payrun r ON r.id = p.run_id WHERE r.status IN {locked}
"""

PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION payroll_refuse_locked_funding() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN IF EXISTS ({LOCKED_ROWS.format(rows="new_rows", locked=LOCKED)}) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF; END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN IF EXISTS ({LOCKED_ROWS.format(rows="old_rows", locked=LOCKED)}) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF; END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER paysplit_locked_ins AFTER INSERT ON payroll_paysliplinefunding
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payroll_refuse_locked_funding();
CREATE TRIGGER paysplit_locked_upd AFTER UPDATE ON payroll_paysliplinefunding
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payroll_refuse_locked_funding();
CREATE TRIGGER paysplit_locked_del AFTER DELETE ON payroll_paysliplinefunding
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION payroll_refuse_locked_funding();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS paysplit_locked_ins ON payroll_paysliplinefunding;
DROP TRIGGER IF EXISTS paysplit_locked_upd ON payroll_paysliplinefunding;
DROP TRIGGER IF EXISTS paysplit_locked_del ON payroll_paysliplinefunding;
DROP FUNCTION IF EXISTS payroll_refuse_locked_funding();
"""


class Migration(migrations.Migration):
    dependencies = [("payroll", "0008_fill_line_funding")]

    operations = [
        PostgresOnlySQL(PG_FORWARD, PG_BACKWARD),
        SqliteOnlySQL(FUNDING_SQLITE_FORWARD, FUNDING_SQLITE_BACKWARD),
    ]
