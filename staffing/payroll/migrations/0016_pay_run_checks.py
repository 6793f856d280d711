"""PostgreSQL: the references a pay run writes once per line (line → payslip, line → policy
version, funding row → line) are checked once per statement instead of once per row (issue 18).

A foreign key checks each inserted or deleted row with its own query at commit: a province's
recalculation (28,000 payslips, 224,000 lines and as many funding rows deleted and written again)
queued close to a million of them. Here each reference is a pair of statement-level triggers over
the statement's transition tables, with the same guarantee:

- the referencing side (INSERT, UPDATE): every non-null reference names an existing row, else
  `foreign_key_violation`. Referenced rows another transaction wrote are first locked FOR KEY
  SHARE, as a foreign key locks them, so a concurrent delete of one waits for this transaction
  and then finds its rows; rows this transaction wrote need no lock (no one else sees them yet).
  One pass over the statement's distinct references (a hash, given the memory not to spill).
- the referenced side (DELETE, UPDATE of the key, TRUNCATE): no remaining row references a row
  that is gone, else `foreign_key_violation`. Each query in the trigger takes a fresh snapshot
  (READ COMMITTED, the project's level), so it sees rows committed while the statement waited.

The checks are immediate rather than deferred to commit: the services write payslips before their
lines and lines before their funding rows, and Django deletes children first. SQLite keeps its
foreign keys (the embedded `make run` writes few rows); Django's model state is unchanged.
Reversing restores the foreign keys (deferrable, initially deferred, as Django makes them)."""

from django.db import migrations

from core.db import PostgresOnlySQL

# (name, referencing table, column, referenced table, the foreign key Django had created)
REFERENCES = (
    ("line_payslip", "payroll_payslipline", "payslip_id", "payroll_payslip", "payroll_payslipline_payslip_id_dff0bc38_fk_payroll_payslip_id"),
    ("line_policy", "payroll_payslipline", "policy_id", "payroll_paypolicy", "payroll_payslipline_policy_id_99ce5aca_fk_payroll_paypolicy_id"),
    ("funding_line", "payroll_paysliplinefunding", "line_id", "payroll_payslipline", "payroll_paysliplinef_line_id_a954fff2_fk_payroll_p"),
)


def _forward(name: str, child: str, column: str, parent: str, fk: str) -> str:
    child_message = f'insert or update on table "{child}" violates the reference {name}: {column} names no row of {parent}'
    parent_message = f'update or delete on table "{parent}" violates the reference {name}: rows of {child} still name it'
    return f"""
DO $$ DECLARE fk text; BEGIN
    SELECT conname INTO fk FROM pg_constraint
     WHERE contype = 'f' AND conrelid = '{child}'::regclass AND confrelid = '{parent}'::regclass
       AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = '{child}'::regclass AND attname = '{column}')];
    IF fk IS NOT NULL THEN EXECUTE format('ALTER TABLE {child} DROP CONSTRAINT %I', fk); END IF;
END $$;

CREATE FUNCTION payref_{name}_named() RETURNS trigger AS $$
DECLARE
    me CONSTANT xid := pg_current_xact_id()::xid;
    missing bigint;
    theirs bigint[];
BEGIN
    SELECT count(*) FILTER (WHERE p.id IS NULL), array_agg(p.id) FILTER (WHERE p.xmin <> me) INTO missing, theirs
      FROM (SELECT DISTINCT n.{column} AS ref FROM new_rows n WHERE n.{column} IS NOT NULL) n LEFT JOIN {parent} p ON p.id = n.ref;
    IF missing = 0 AND theirs IS NOT NULL THEN
        -- Rows of other transactions, locked as a foreign key locks them; one deleted meanwhile
        -- is not locked, and counts as missing.
        SELECT cardinality(theirs) - count(*) INTO missing
          FROM (SELECT 1 FROM {parent} p WHERE p.id = ANY (theirs) FOR KEY SHARE OF p) locked;
    END IF;
    IF missing > 0 THEN
        RAISE EXCEPTION '{child_message}' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET work_mem = '64MB';

CREATE FUNCTION payref_{name}_deleted() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows o WHERE EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = o.id)) THEN
        RAISE EXCEPTION '{parent_message}' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION payref_{name}_rekeyed() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = o.id)
                 AND EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = o.id)) THEN
        RAISE EXCEPTION '{parent_message}' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION payref_{name}_truncated() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM {child} c WHERE c.{column} IS NOT NULL) THEN
        RAISE EXCEPTION '{parent_message}' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payref_{name}_ins AFTER INSERT ON {child}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payref_{name}_named();
CREATE TRIGGER payref_{name}_upd AFTER UPDATE ON {child}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payref_{name}_named();
CREATE TRIGGER payref_{name}_del AFTER DELETE ON {parent}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION payref_{name}_deleted();
CREATE TRIGGER payref_{name}_key AFTER UPDATE ON {parent}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION payref_{name}_rekeyed();
CREATE TRIGGER payref_{name}_trunc AFTER TRUNCATE ON {parent}
    FOR EACH STATEMENT EXECUTE FUNCTION payref_{name}_truncated();
"""


def _backward(name: str, child: str, column: str, parent: str, fk: str) -> str:
    triggers = "\n".join(
        f"DROP TRIGGER IF EXISTS payref_{name}_{suffix} ON {table};"
        for suffix, table in (("ins", child), ("upd", child), ("del", parent), ("key", parent), ("trunc", parent))
    )
    functions = "\n".join(f"DROP FUNCTION IF EXISTS payref_{name}_{kind}();" for kind in ("named", "deleted", "rekeyed", "truncated"))
    return f"""
{triggers}
{functions}
ALTER TABLE {child} ADD CONSTRAINT {fk} FOREIGN KEY ({column}) REFERENCES {parent} (id) DEFERRABLE INITIALLY DEFERRED;
"""


# A pay run draws its payslips' and lines' ids before writing them by COPY (the funding rows name
# the lines): a backend keeps 1,000 values of each sequence at hand instead of locking and logging
# the sequence for every id. Ids stay unique; only their order across sessions has gaps.
def _sequence_cache(table: str, cache: int) -> str:
    return f"DO $$ BEGIN EXECUTE format('ALTER SEQUENCE %s CACHE {cache}', pg_get_serial_sequence('{table}', 'id')); END $$;"


# The guards of approved runs (0004, 0009) follow each written line and funding row up to its run:
# two index lookups per funding row and one per line. The same checks over the statement's
# distinct lines and payslips (28,000 payslips rather than 224,000 lines and 280,000 funding
# rows); same refusals, same message.
LOCKED = "('approved', 'paid')"
GUARD_MESSAGE = "payroll: the pay run is approved; its payslips cannot change"


def _guard(function: str, locked_rows: str) -> str:
    """A guard function refusing when `locked_rows` (over {rows}: new_rows or old_rows) finds one."""
    checks = "\n".join(
        f"""    IF TG_OP IN {ops} THEN IF EXISTS ({locked_rows.format(rows=rows)}) THEN
        RAISE EXCEPTION '{GUARD_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END IF; END IF;"""
        for ops, rows in (("('INSERT', 'UPDATE')", "new_rows"), ("('UPDATE', 'DELETE')", "old_rows"))
    )
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
{checks}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql{{settings}};
"""


GUARDS = (
    (
        "payroll_refuse_locked_lines",
        f"""SELECT 1 FROM payroll_payslip p JOIN payroll_payrun r ON r.id = p.run_id
         WHERE r.status IN {LOCKED} AND p.id IN (SELECT DISTINCT n.payslip_id FROM {{rows}} n)""",
        f"""SELECT 1 FROM {{rows}} n JOIN payroll_payslip p ON p.id = n.payslip_id JOIN payroll_payrun r ON r.id = p.run_id
         WHERE r.status IN {LOCKED}""",
    ),
    (
        "payroll_refuse_locked_funding",
        f"""SELECT 1 FROM payroll_payslip p JOIN payroll_payrun r ON r.id = p.run_id
         WHERE r.status IN {LOCKED} AND p.id IN (
           SELECT DISTINCT l.payslip_id FROM payroll_payslipline l WHERE l.id IN (SELECT DISTINCT f.line_id FROM {{rows}} f))""",
        f"""SELECT 1 FROM {{rows}} f JOIN payroll_payslipline l ON l.id = f.line_id JOIN payroll_payslip p ON p.id = l.payslip_id
          JOIN payroll_payrun r ON r.id = p.run_id WHERE r.status IN {LOCKED}""",
    ),
)
GUARDS_FORWARD = "".join(_guard(function, faster).format(settings=" SET work_mem = '64MB'") for function, faster, _was in GUARDS)
GUARDS_BACKWARD = "".join(_guard(function, was).format(settings="") for function, _faster, was in GUARDS)


# Indexes a pay run maintains for every row it writes that a composite index already serves:
# the funding rows' line (the unique (line, source) leads with it), the payslips' run (the unique
# (run, doctor)) and doctor ((doctor, month)). (The lines' policy version keeps its own: a policy
# edit asks whether approved lines name the version.) Django's state keeps them (its foreign-key
# indexes); SQLite keeps them too.
REDUNDANT_INDEXES = (
    ("payroll_paysliplinefunding", "line_id"),
    ("payroll_payslip", "run_id"),
    ("payroll_payslip", "doctor_id"),
)


def _drop_index(table: str, column: str) -> str:
    return f"""
DO $$ DECLARE ix text; BEGIN
    FOR ix IN SELECT i.indexrelid::regclass::text FROM pg_index i
               WHERE i.indrelid = '{table}'::regclass AND i.indnatts = 1 AND NOT i.indisunique
                 AND i.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = '{column}')
    LOOP EXECUTE format('DROP INDEX %s', ix); END LOOP;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("payroll", "0015_payslip_list_order")]

    operations = [
        *(PostgresOnlySQL(_forward(*ref), _backward(*ref)) for ref in REFERENCES),
        *(PostgresOnlySQL(_sequence_cache(table, 1000), _sequence_cache(table, 1)) for table in ("payroll_payslip", "payroll_payslipline")),
        PostgresOnlySQL(GUARDS_FORWARD, GUARDS_BACKWARD),
        *(PostgresOnlySQL(_drop_index(table, column), f"CREATE INDEX IF NOT EXISTS {table}_{column}_idx ON {table} ({column});")
          for table, column in REDUNDANT_INDEXES),
    ]
