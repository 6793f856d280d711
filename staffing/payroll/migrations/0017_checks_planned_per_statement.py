"""PostgreSQL: the statement-level checks of a pay run's writes (0004's payslip guard, 0016's
line and funding guards and reference checks) plan their queries for each statement they check,
with the size of that statement's transition table and of the tables as they are then.

PL/pgSQL plans a static query the first time it runs in a connection and keeps that plan for the
connection's life; with no parameters it never plans again unless the tables' statistics or
definitions change. A plan made while the pay tables were empty (a new county's first run, or
any run on a server that has not analysed them yet) was kept for a province's recalculation: the
funding guard's check of 196,000 deleted rows then ran for minutes at full CPU, while the same
statement in a new connection took a second. `EXECUTE` plans each time (about a millisecond);
the queries, their refusals and their messages are those of 0004 and 0016.

Reversing puts back the same checks as static queries."""

from django.db import migrations

from core.db import PostgresOnlySQL

LOCKED = "('approved', 'paid')"
GUARD_MESSAGE = "payroll: the pay run is approved; its payslips cannot change"

# (function, the query finding a row of an approved run among {rows}: new_rows or old_rows)
GUARDS = (
    (
        "payroll_refuse_locked_payslips",
        f"SELECT 1 FROM {{rows}} n JOIN payroll_payrun r ON r.id = n.run_id WHERE r.status IN {LOCKED}",
    ),
    (
        "payroll_refuse_locked_lines",
        f"""SELECT 1 FROM payroll_payslip p JOIN payroll_payrun r ON r.id = p.run_id
         WHERE r.status IN {LOCKED} AND p.id IN (SELECT DISTINCT n.payslip_id FROM {{rows}} n)""",
    ),
    (
        "payroll_refuse_locked_funding",
        f"""SELECT 1 FROM payroll_payslip p JOIN payroll_payrun r ON r.id = p.run_id
         WHERE r.status IN {LOCKED} AND p.id IN (
           SELECT DISTINCT l.payslip_id FROM payroll_payslipline l WHERE l.id IN (SELECT DISTINCT f.line_id FROM {{rows}} f))""",
    ),
)

# (name, referencing table, column, referenced table), as in 0016
REFERENCES = (
    ("line_payslip", "payroll_payslipline", "payslip_id", "payroll_payslip"),
    ("line_policy", "payroll_payslipline", "policy_id", "payroll_paypolicy"),
    ("funding_line", "payroll_paysliplinefunding", "line_id", "payroll_payslipline"),
)


def _query(sql: str, into: str, dynamic: bool, params: tuple[str, ...] = ()) -> str:
    """`sql` run INTO `into`: planned at each run (EXECUTE, `params` bound as $1, $2, …) or, when
    not `dynamic`, as a static PL/pgSQL query naming the variables themselves."""
    if dynamic:
        text = sql.format(*(f"${i}" for i in range(1, len(params) + 1)))
        using = f" USING {', '.join(params)}" if params else ""
        return f"EXECUTE $q${text}$q$ INTO {into}{using};"
    return f"{sql.format(*params)} INTO {into};"


def _exists(sql: str, dynamic: bool) -> str:
    return _query(f"SELECT EXISTS ({sql})", "found", dynamic)


def _guard(function: str, locked_rows: str, dynamic: bool) -> str:
    checks = "\n".join(
        f"""    IF TG_OP IN {ops} THEN
        {_exists(locked_rows.replace("{rows}", rows), dynamic)}
        IF found THEN
            RAISE EXCEPTION '{GUARD_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;"""
        for ops, rows in (("('INSERT', 'UPDATE')", "new_rows"), ("('UPDATE', 'DELETE')", "old_rows"))
    )
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
DECLARE
    found boolean;
BEGIN
{checks}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET work_mem = '64MB';
"""


def _references(name: str, child: str, column: str, parent: str, dynamic: bool) -> str:
    child_message = f'insert or update on table "{child}" violates the reference {name}: {column} names no row of {parent}'
    parent_message = f'update or delete on table "{parent}" violates the reference {name}: rows of {child} still name it'
    named = _query(
        f"SELECT count(*) FILTER (WHERE p.id IS NULL), array_agg(p.id) FILTER (WHERE p.xmin <> {{0}}) "
        f"FROM (SELECT DISTINCT n.{column} AS ref FROM new_rows n WHERE n.{column} IS NOT NULL) n LEFT JOIN {parent} p ON p.id = n.ref",
        "missing, theirs", dynamic, ("me",),
    )
    locked = _query(
        f"SELECT cardinality({{0}}) - count(*) FROM (SELECT 1 FROM {parent} p WHERE p.id = ANY ({{0}}) FOR KEY SHARE OF p) locked",
        "missing", dynamic, ("theirs",),
    )
    deleted = _exists(f"SELECT 1 FROM old_rows o WHERE EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = o.id)", dynamic)
    rekeyed = _exists(
        f"SELECT 1 FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = o.id) "
        f"AND EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = o.id)",
        dynamic,
    )
    referenced_side = "".join(
        f"""
CREATE OR REPLACE FUNCTION payref_{name}_{kind}() RETURNS trigger AS $$
DECLARE
    found boolean;
BEGIN
    {check}
    IF found THEN
        RAISE EXCEPTION '{parent_message}' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
        for kind, check in (("deleted", deleted), ("rekeyed", rekeyed))
    )
    return f"""
CREATE OR REPLACE FUNCTION payref_{name}_named() RETURNS trigger AS $$
DECLARE
    me CONSTANT xid := pg_current_xact_id()::xid;
    missing bigint;
    theirs bigint[];
BEGIN
    {named}
    IF missing = 0 AND theirs IS NOT NULL THEN
        -- Rows of other transactions, locked as a foreign key locks them; one deleted meanwhile
        -- is not locked, and counts as missing.
        {locked}
    END IF;
    IF missing > 0 THEN
        RAISE EXCEPTION '{child_message}' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET work_mem = '64MB';
{referenced_side}"""


def checks(dynamic: bool) -> str:
    return "".join(
        [_guard(function, rows, dynamic) for function, rows in GUARDS]
        + [_references(*reference, dynamic=dynamic) for reference in REFERENCES]
    )


class Migration(migrations.Migration):
    dependencies = [("payroll", "0016_pay_run_checks")]

    operations = [PostgresOnlySQL(checks(dynamic=True), checks(dynamic=False))]
