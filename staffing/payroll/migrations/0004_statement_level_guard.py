"""PostgreSQL: the payslip and line guards of approved runs become statement-level triggers over
transition tables, so a run of 28,000 payslips and 200,000 lines is checked once per statement
rather than once per row (same refusals, same message). Reversing restores the row triggers."""

from django.db import migrations

from core.db import PostgresOnlySQL

LOCKED = "('approved', 'paid')"
MESSAGE = "payroll: the pay run is approved; its payslips cannot change"

FORWARD = f"""
DROP TRIGGER IF EXISTS payroll_payslip_locked ON payroll_payslip;
DROP TRIGGER IF EXISTS payroll_payslipline_locked ON payroll_payslipline;

CREATE OR REPLACE FUNCTION payroll_refuse_locked_payslips() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN IF EXISTS (
        SELECT 1 FROM new_rows n JOIN payroll_payrun r ON r.id = n.run_id WHERE r.status IN {LOCKED}
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF; END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN IF EXISTS (
        SELECT 1 FROM old_rows o JOIN payroll_payrun r ON r.id = o.run_id WHERE r.status IN {LOCKED}
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF; END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION payroll_refuse_locked_lines() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN IF EXISTS (
        SELECT 1 FROM new_rows n JOIN payroll_payslip p ON p.id = n.payslip_id JOIN payroll_payrun r ON r.id = p.run_id
         WHERE r.status IN {LOCKED}
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF; END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN IF EXISTS (
        SELECT 1 FROM old_rows o JOIN payroll_payslip p ON p.id = o.payslip_id JOIN payroll_payrun r ON r.id = p.run_id
         WHERE r.status IN {LOCKED}
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF; END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payroll_payslip_locked_ins AFTER INSERT ON payroll_payslip
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payroll_refuse_locked_payslips();
CREATE TRIGGER payroll_payslip_locked_upd AFTER UPDATE ON payroll_payslip
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payroll_refuse_locked_payslips();
CREATE TRIGGER payroll_payslip_locked_del AFTER DELETE ON payroll_payslip
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION payroll_refuse_locked_payslips();
CREATE TRIGGER payroll_payslipline_locked_ins AFTER INSERT ON payroll_payslipline
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payroll_refuse_locked_lines();
CREATE TRIGGER payroll_payslipline_locked_upd AFTER UPDATE ON payroll_payslipline
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payroll_refuse_locked_lines();
CREATE TRIGGER payroll_payslipline_locked_del AFTER DELETE ON payroll_payslipline
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION payroll_refuse_locked_lines();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS payroll_payslip_locked_ins ON payroll_payslip;
DROP TRIGGER IF EXISTS payroll_payslip_locked_upd ON payroll_payslip;
DROP TRIGGER IF EXISTS payroll_payslip_locked_del ON payroll_payslip;
DROP TRIGGER IF EXISTS payroll_payslipline_locked_ins ON payroll_payslipline;
DROP TRIGGER IF EXISTS payroll_payslipline_locked_upd ON payroll_payslipline;
DROP TRIGGER IF EXISTS payroll_payslipline_locked_del ON payroll_payslipline;
DROP FUNCTION IF EXISTS payroll_refuse_locked_lines();
DROP FUNCTION IF EXISTS payroll_refuse_locked_payslips();
CREATE TRIGGER payroll_payslip_locked BEFORE INSERT OR UPDATE OR DELETE ON payroll_payslip
    FOR EACH ROW EXECUTE FUNCTION payroll_refuse_locked_payslip();
CREATE TRIGGER payroll_payslipline_locked BEFORE INSERT OR UPDATE OR DELETE ON payroll_payslipline
    FOR EACH ROW EXECUTE FUNCTION payroll_refuse_locked_line();
"""


class Migration(migrations.Migration):
    dependencies = [("payroll", "0003_sqlite_guard_without_delete")]

    operations = [PostgresOnlySQL(FORWARD, BACKWARD)]
