"""A database guard for approved pay runs: once a run is approved (or paid), its payslips and their
lines cannot be inserted, updated or deleted, and the run's totals cannot change, whatever code
path tries. PostgreSQL uses trigger functions; SQLite equivalent triggers."""

from django.db import migrations

from core.db import PostgresOnlySQL
from staffing.payroll.migrations._guard import SqliteOnlySQL

LOCKED = "('approved', 'paid')"
MESSAGE = "payroll: the pay run is approved; its payslips cannot change"

PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION payroll_refuse_locked_payslip() RETURNS trigger AS $$
DECLARE
    run_status text;
BEGIN
    SELECT r.status INTO run_status FROM payroll_payrun r
     WHERE r.id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.run_id ELSE NEW.run_id END);
    IF run_status IN {LOCKED} THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.run_id <> NEW.run_id THEN
        SELECT r.status INTO run_status FROM payroll_payrun r WHERE r.id = OLD.run_id;
        IF run_status IN {LOCKED} THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION payroll_refuse_locked_line() RETURNS trigger AS $$
DECLARE
    run_status text;
BEGIN
    SELECT r.status INTO run_status FROM payroll_payrun r JOIN payroll_payslip p ON p.run_id = r.id
     WHERE p.id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.payslip_id ELSE NEW.payslip_id END);
    IF run_status IN {LOCKED} THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION payroll_refuse_locked_run() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN {LOCKED} THEN
            RAISE EXCEPTION 'payroll: an approved pay run cannot be deleted' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status IN {LOCKED} AND (
        NEW.status NOT IN {LOCKED} OR (OLD.status = 'paid' AND NEW.status <> 'paid')
        OR NEW.month <> OLD.month OR NEW.township_id IS DISTINCT FROM OLD.township_id
        OR NEW.gross_total <> OLD.gross_total OR NEW.deduction_total <> OLD.deduction_total
        OR NEW.net_total <> OLD.net_total OR NEW.doctor_count <> OLD.doctor_count
    ) THEN
        RAISE EXCEPTION 'payroll: an approved pay run can only be marked paid' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payroll_payslip_locked BEFORE INSERT OR UPDATE OR DELETE ON payroll_payslip
    FOR EACH ROW EXECUTE FUNCTION payroll_refuse_locked_payslip();
CREATE TRIGGER payroll_payslipline_locked BEFORE INSERT OR UPDATE OR DELETE ON payroll_payslipline
    FOR EACH ROW EXECUTE FUNCTION payroll_refuse_locked_line();
CREATE TRIGGER payroll_payrun_locked BEFORE UPDATE OR DELETE ON payroll_payrun
    FOR EACH ROW EXECUTE FUNCTION payroll_refuse_locked_run();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS payroll_payrun_locked ON payroll_payrun;
DROP TRIGGER IF EXISTS payroll_payslipline_locked ON payroll_payslipline;
DROP TRIGGER IF EXISTS payroll_payslip_locked ON payroll_payslip;
DROP FUNCTION IF EXISTS payroll_refuse_locked_run();
DROP FUNCTION IF EXISTS payroll_refuse_locked_line();
DROP FUNCTION IF EXISTS payroll_refuse_locked_payslip();
"""

SLIP_STATUS = "(SELECT status FROM payroll_payrun WHERE id = {ref}.run_id)"
LINE_STATUS = "(SELECT r.status FROM payroll_payrun r JOIN payroll_payslip p ON p.run_id = r.id WHERE p.id = {ref}.payslip_id)"


def _sqlite_trigger(name, op, table, status_sql):
    return (
        f"CREATE TRIGGER {name} BEFORE {op} ON {table} WHEN {status_sql} IN {LOCKED} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    )


SQLITE_FORWARD = [
    _sqlite_trigger("payroll_payslip_locked_ins", "INSERT", "payroll_payslip", SLIP_STATUS.format(ref="NEW")),
    _sqlite_trigger("payroll_payslip_locked_upd", "UPDATE", "payroll_payslip", SLIP_STATUS.format(ref="OLD")),
    _sqlite_trigger("payroll_payslip_locked_del", "DELETE", "payroll_payslip", SLIP_STATUS.format(ref="OLD")),
    _sqlite_trigger("payroll_payslipline_locked_ins", "INSERT", "payroll_payslipline", LINE_STATUS.format(ref="NEW")),
    _sqlite_trigger("payroll_payslipline_locked_upd", "UPDATE", "payroll_payslipline", LINE_STATUS.format(ref="OLD")),
    _sqlite_trigger("payroll_payslipline_locked_del", "DELETE", "payroll_payslipline", LINE_STATUS.format(ref="OLD")),
    "CREATE TRIGGER payroll_payrun_locked_del BEFORE DELETE ON payroll_payrun WHEN OLD.status IN ('approved', 'paid') "
    "BEGIN SELECT RAISE(ABORT, 'payroll: an approved pay run cannot be deleted'); END;",
    "CREATE TRIGGER payroll_payrun_locked_upd BEFORE UPDATE ON payroll_payrun WHEN OLD.status IN ('approved', 'paid') AND ("
    "NEW.status NOT IN ('approved', 'paid') OR (OLD.status = 'paid' AND NEW.status <> 'paid') OR NEW.month <> OLD.month "
    "OR NEW.township_id IS NOT OLD.township_id OR NEW.gross_total <> OLD.gross_total "
    "OR NEW.deduction_total <> OLD.deduction_total OR NEW.net_total <> OLD.net_total OR NEW.doctor_count <> OLD.doctor_count) "
    "BEGIN SELECT RAISE(ABORT, 'payroll: an approved pay run can only be marked paid'); END;",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {name};"
    for name in (
        "payroll_payslip_locked_ins", "payroll_payslip_locked_upd", "payroll_payslip_locked_del",
        "payroll_payslipline_locked_ins", "payroll_payslipline_locked_upd", "payroll_payslipline_locked_del",
        "payroll_payrun_locked_del", "payroll_payrun_locked_upd",
    )
]


class Migration(migrations.Migration):
    dependencies = [("payroll", "0001_initial")]

    operations = [
        PostgresOnlySQL(PG_FORWARD, PG_BACKWARD),
        SqliteOnlySQL(SQLITE_FORWARD, SQLITE_BACKWARD),
    ]
