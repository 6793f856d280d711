"""The PostgreSQL engine: COPY into a temporary staging table, every rule of the table
(`rules.STEPS`) compiled in order into one SQL CASE, then `INSERT … ON CONFLICT DO NOTHING` into the
key table and the partitioned log. It reads the files and rows the fast lane does not take: rows
from the API or a spreadsheet, and the lines of a CSV the lane handed on."""

from collections.abc import Iterable

from django.db import DataError

from clinics.settlements.ingest.common import (
    LEGACY_CLR_TYPE,
    MIDNIGHT,
    IngestContext,
    IngestOutcome,
    RawCsv,
    legacy_clr_type,
)
from clinics.settlements.models import SettlementRecord
from clinics.settlements.partitions import ensure_partitions, partition_name
from clinics.settlements.rules import (
    ALL_AMOUNTS,
    NUMBER_TYPES,
    STEPS,
    SqlTerms,
    max_amount,
    relation_tolerance,
)
from clinics.settlements.spec import (
    AMOUNT_FIELDS,
    BLANKS,
    CODE_FIELDS,
    DATE_FIELDS,
    FIELDS,
    FINGERPRINT,
    FINGERPRINT_SEPARATOR,
    PLATFORM_FIELDS,
    SIGNED_AMOUNTS,
    TIME_ZONE,
)
from clinics.settlements.stats import upsert_from_sql
from core.masking import mask_id_number_sql

STAGE = "settlement_stage"


def _lit(value: str) -> str:
    """A SQL string literal, with % doubled: every statement here is run with parameters."""
    return "'" + str(value).replace("'", "''").replace("%", "%%") + "'"


def _trim(expression: str) -> str:
    """The SQL for a value trimmed as the Python engine trims it (str.strip()): btrim() alone would
    keep an ideographic or no-break space at either end."""
    return f"btrim({expression}, {_lit(BLANKS)})"


def clean_sql(name: str, expression: str) -> str:
    """The SQL for a value as `clean_values` reads it: a code not in ASCII goes through NFKC first
    (PostgreSQL's normalize(); the ASCII test, octet length = length, keeps it off the usual row)."""
    if name in CODE_FIELDS:
        expression = f"CASE WHEN octet_length({expression}) = length({expression}) THEN {expression} ELSE normalize({expression}, NFKC) END"
    return _trim(expression)


def _sub(template: str, **values: str) -> str:
    """SQL that fills %(name)s placeholders of a translated message with SQL expressions."""
    sql = _lit(template)
    for name, expression in values.items():
        sql = f"replace({sql}, {_lit('%(' + name + ')s')}, {expression})"
    return sql


def _time_sql(column: str) -> str:
    return f"(replace({column}, 'T', ' ')::timestamp AT TIME ZONE '{TIME_ZONE}')"


# The fingerprint's values (spec.FINGERPRINT) as the staged, typed row holds them.
_FINGERPRINT_SQL = {
    **{name: "{p}" + name for name in FINGERPRINT},
    "facility_id": "{p}facility_id::text",
    "settled_epoch": "extract(epoch FROM {p}settled_at)::bigint::text",
    **{name: f"{{p}}{name}::text" for name in AMOUNT_FIELDS},
}
# The 2207 fields beyond the old ones, typed as the log keeps them.
PLATFORM_TYPES = {
    name: "numeric(12,2)" if name in ALL_AMOUNTS else NUMBER_TYPES.get(name) or ("date" if name in DATE_FIELDS else None)
    for name in PLATFORM_FIELDS
}
# The clinics by register code and by platform institution code (the two never clash: Facility.clean).
CLINICS_BY_CODE = (
    "(SELECT id, code AS key, settlement_enabled FROM clinics_facility UNION ALL "
    "SELECT id, platform_code, settlement_enabled FROM clinics_facility WHERE platform_code IS NOT NULL "
    "AND platform_code <> '' AND platform_code <> code)"
)


def _platform_fingerprint(prefix: str = "") -> str:
    """spec.fingerprint in SQL: the old values, then — when any 2207 field is given — those too."""
    old = ", ".join(_FINGERPRINT_SQL[name].replace("{p}", prefix) for name in FINGERPRINT)
    given = " OR ".join(f"{prefix}{name} IS NOT NULL" for name in PLATFORM_FIELDS)
    platform = ", ".join(f"coalesce({prefix}{name}::text, '')" for name in PLATFORM_FIELDS)
    sep = _lit(FINGERPRINT_SEPARATOR)
    return (f"md5(CASE WHEN {given} THEN concat_ws({sep}, {old}, {platform}) "
            f"ELSE concat_ws({sep}, {old}) END)")


class PostgresEngine:
    def __init__(self, context: IngestContext, messages: dict[str, str], codes=None):
        self.context = context
        self.m = messages
        self.max_amount = max_amount()
        self.codes = codes if codes is not None else context.codes()
        self.legacy_clr_type = legacy_clr_type(self.codes)
        self.warned = 0

    def _terms(self, alias: str = "s") -> SqlTerms:
        return SqlTerms(own_facility=self.context.own_facility, top=self.max_amount, time_sql=_time_sql, lit=_lit,
                        codes=self.codes, tolerance=relation_tolerance(), alias=alias)

    def _warnings_sql(self, alias: str) -> str:
        """The unconfirmed relations a row breaks, as an array of "code<US>message" (NULL: none)."""
        q = self._terms(alias)
        items = [
            f"CASE WHEN {condition} THEN {_lit(rule.code + chr(31))} || {_sub(self.m[rule.code], **params)} END"
            for step in STEPS for rule, name in step if rule.warns
            for condition, params in rule.sql(q, name)
        ]
        if not items:
            return "NULL::text[]"
        return f"nullif(array_remove(ARRAY[{', '.join(items)}], NULL), '{{}}')"

    def _clean_select(self) -> str:
        """The staged row as every engine reads it (`common.clean_values`): trimmed, codes in
        ASCII, a date of birth without its midnight, a reversal's negative payments positive, an old
        clr_type 14 as med_type 14 + clr_type 11."""
        trimmed = ", ".join(f"nullif({clean_sql(f, f)}, '') AS {f}" for f in FIELDS)
        # Read in the middle query, whose rows are named r (t is the outer one).
        negative = " OR ".join(f"r.{a} LIKE '-%%'" for a in SIGNED_AMOUNTS)
        all_negative = " AND ".join(
            f"(r.{a} IS NULL OR r.{a} LIKE '-%%' OR r.{a} ~ '^0+(\\.0*)?$')" for a in SIGNED_AMOUNTS
        )
        columns = []
        for f in FIELDS:
            if f in SIGNED_AMOUNTS:
                columns.append(f"CASE WHEN t.negated AND t.{f} LIKE '-%%' THEN substr(t.{f}, 2) ELSE t.{f} END AS {f}")
            elif f in DATE_FIELDS:
                columns.append(f"CASE WHEN right(t.{f}, {len(MIDNIGHT)}) = {_lit(MIDNIGHT)} "
                               f"THEN left(t.{f}, -{len(MIDNIGHT)}) ELSE t.{f} END AS {f}")
            elif f in ("clr_type", "med_type") and self.legacy_clr_type:
                legacy = f"t.clr_type = {_lit(LEGACY_CLR_TYPE)} AND t.med_type IS NULL"
                value = "'11'" if f == "clr_type" else _lit(LEGACY_CLR_TYPE)
                columns.append(f"CASE WHEN {legacy} THEN {value} ELSE t.{f} END AS {f}")
            else:
                columns.append(f"t.{f}")
        return (
            f"SELECT t.row_no, {', '.join(columns)} FROM (SELECT r.*, r.init_setl_id IS NOT NULL AND ({negative}) "
            f"AND {all_negative} AS negated FROM (SELECT row_no, {trimmed} FROM {STAGE} OFFSET 0) r OFFSET 0) t"
        )

    def _reason_sql(self) -> str:
        """The rules table as one CASE: each rule's WHENs in table order; a step with a guard
        (`Rule.sql_guard`) is one WHEN whose result is the CASE of its per-field WHENs. The
        relations not confirmed are no WHEN here: they warn (`_warnings_sql`)."""
        q = self._terms()
        whens = []
        for step in STEPS:
            inner = [
                (condition, _sub(self.m[rule.code], **params))
                for rule, name in step if not rule.warns
                for condition, params in rule.sql(q, name)
            ]
            if not inner:
                continue
            guard = step[0][0].sql_guard
            if guard is None:
                whens.extend(inner)
            else:
                whens.append((guard(q), "CASE " + " ".join(f"WHEN {c} THEN {m}" for c, m in inner) + " END"))
        return "CASE " + " ".join(f"WHEN {cond} THEN {msg}" for cond, msg in whens) + " END"

    def _create_stage(self, cursor, extra_columns: int = 0) -> None:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        columns = ", ".join(f"{f} text" for f in FIELDS)
        extras = "".join(f", extra_{i} text" for i in range(extra_columns))
        cursor.execute(
            f"CREATE TEMP TABLE {STAGE} (row_no bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 2), "
            f"{columns}{extras}) ON COMMIT DROP"
        )

    def load_raw(self, cursor, raw: RawCsv) -> None:
        extra = 0
        names, seen = [], set()
        for column in raw.header:
            if column in FIELDS and column not in seen:
                names.append(column)
                seen.add(column)
            else:
                names.append(f"extra_{extra}")
                extra += 1
        self._create_stage(cursor, extra)
        sql = f"COPY {STAGE} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, ENCODING '{raw.encoding}')"
        import psycopg

        try:
            with cursor.cursor.copy(sql) as copy:
                view = memoryview(raw.body)
                for start in range(0, len(view), 1 << 20):
                    copy.write(view[start : start + (1 << 20)])
        except psycopg.DataError as exc:
            raise DataError(str(exc)) from exc

    def load_rows(self, cursor, rows: Iterable[tuple[int, dict]]) -> None:
        self._create_stage(cursor)
        sql = f"COPY {STAGE} (row_no, {', '.join(FIELDS)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for number, values in rows:
                copy.write_row(
                    [number] + [None if values.get(f) is None else str(values.get(f)) for f in FIELDS]
                )

    def run(self, cursor) -> IngestOutcome:
        ctx, m = self.context, self.m
        params = {"now": ctx.now, "batch": ctx.batch_id}
        cursor.execute("DROP TABLE IF EXISTS settlement_valid, settlement_reversal")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # The temp tables have no statistics and the insert's plan carries disabled-node costs:
        # JIT would compile the statements for ~0.5 s each, more than they take to run.
        cursor.execute("SET LOCAL jit = off")
        amounts = ", ".join(f"CASE WHEN rule_reason IS NULL THEN {a}::numeric(12,2) END AS {a}" for a in AMOUNT_FIELDS)
        platform = ", ".join(
            f"CASE WHEN rule_reason IS NULL THEN {name}::{kind} END AS {name}" if kind else name
            for name, kind in PLATFORM_TYPES.items()
        )
        certno = mask_id_number_sql("certno")
        # The window over each setl_id's rows (a sort) only when a setl_id repeats in the upload.
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {STAGE} GROUP BY {clean_sql('setl_id', 'setl_id')} HAVING count(*) > 1)")
        if cursor.fetchone()[0]:
            first_seen = ("min(f.row_no) OVER first_seen AS first_row, first_value(f.fp) OVER first_seen AS first_fp",
                          "WINDOW first_seen AS (PARTITION BY f.setl_id, f.rule_reason IS NULL ORDER BY f.row_no)")
        else:
            first_seen = ("f.row_no AS first_row, f.fp AS first_fp", "")
        # One pass over the staged text: trim each field once, every row rule (one CASE), then,
        # for the rows that pass, the typed values, the fingerprint, each setl_id's first row in
        # the upload, the key-table probe and the verdict, into one narrow typed table. The
        # OFFSET 0 fences keep the planner from copying the rule CASE and the MD5 into every
        # place that reads them.
        cursor.execute(
            f"""CREATE TEMP TABLE settlement_valid ON COMMIT DROP AS
            SELECT w.row_no, w.setl_id, w.mdtrt_id, w.psn_no, w.psn_name, w.certno_masked, w.insutype, w.clr_type,
                   w.facility_id, w.settled_at, {", ".join("w." + a for a in AMOUNT_FIELDS)}, w.atddr_no,
                   w.init_setl_id, {", ".join("w." + name for name in PLATFORM_FIELDS)}, w.warnings, w.fp,
                   CASE WHEN w.rule_reason IS NOT NULL THEN 'rejected'
                        WHEN w.row_no <> w.first_row AND w.fp = w.first_fp THEN 'duplicate'
                        WHEN w.row_no <> w.first_row THEN 'rejected'
                        WHEN k.setl_id IS NOT NULL AND k.fingerprint = w.fp THEN 'duplicate'
                        WHEN k.setl_id IS NOT NULL THEN 'rejected'
                        ELSE 'new' END AS status,
                   CASE WHEN w.rule_reason IS NOT NULL THEN w.rule_reason
                        WHEN w.row_no <> w.first_row AND w.fp <> w.first_fp
                            THEN {_sub(m["repeated_in_batch"], value="w.setl_id", row="w.first_row::text")}
                        WHEN w.row_no = w.first_row AND k.setl_id IS NOT NULL AND k.fingerprint <> w.fp
                            THEN {_sub(m["conflicts_recorded"], value="w.setl_id")} END AS reason
              FROM (SELECT f.*, {first_seen[0]}
                      FROM (SELECT v.*, CASE WHEN v.rule_reason IS NULL THEN {_platform_fingerprint("v.")} END AS fp
                              FROM (SELECT row_no, rule_reason, setl_id, mdtrt_id, psn_no, psn_name,
                                           {certno} AS certno_masked, insutype, clr_type, facility_id,
                                           CASE WHEN rule_reason IS NULL THEN {_time_sql('setl_time')} END AS settled_at,
                                           {amounts}, coalesce(atddr_no, '') AS atddr_no,
                                           coalesce(init_setl_id, '') AS init_setl_id, {platform},
                                           CASE WHEN rule_reason IS NULL THEN {self._warnings_sql("c")} END AS warnings
                                      FROM (SELECT s.*, f.id AS facility_id, {self._reason_sql()} AS rule_reason
                                              FROM ({self._clean_select()} OFFSET 0) s
                                              LEFT JOIN {CLINICS_BY_CODE} f ON f.key = s.fixmedins_code
                                            OFFSET 0) c) v
                            OFFSET 0) f
                    {first_seen[1]}) w
              LEFT JOIN settlements_settlementkey k ON k.setl_id = w.setl_id AND w.rule_reason IS NULL""",
            params,
        )
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', settled_at AT TIME ZONE '{TIME_ZONE}')::date "
            "FROM settlement_valid WHERE status = 'new'"
        )
        months = [month for (month,) in cursor.fetchall()]
        ensure_partitions(months)
        # An upload of one month (the usual monthly file) goes straight into its partition: no
        # tuple routing per row. Reversals are rows of the same upload, so of the same months.
        self.target = partition_name(months[0]) if len(months) == 1 else SettlementRecord._meta.db_table
        accepted = self._insert(cursor, "settlement_valid", "s.status = 'new' AND s.init_setl_id = ''", params)

        # A 2207 amount given on only one of the two compares as equal (NULL): nothing is derived.
        amounts_differ = " OR ".join(f"o.{a} <> r.{a}" for a in SIGNED_AMOUNTS)
        cursor.execute(
            f"""CREATE TEMP TABLE settlement_reversal ON COMMIT DROP AS
            SELECT r.*, CASE
                    WHEN o.setl_id IS NULL THEN {_sub(m["original_missing"], value="r.init_setl_id")}
                    WHEN o.init_setl_id <> '' THEN {_sub(m["original_is_reversal"], value="r.init_setl_id")}
                    WHEN rk.setl_id IS NOT NULL OR r.turn > 1 THEN {_sub(m["already_reversed"], value="r.init_setl_id")}
                    WHEN o.facility_id <> r.facility_id THEN {_sub(m["reversal_other_clinic"], value="r.init_setl_id")}
                    WHEN {amounts_differ} THEN {_sub(m["reversal_amounts"], value="r.init_setl_id")}
                END AS rev_reason
              FROM (SELECT *, row_number() OVER (PARTITION BY init_setl_id ORDER BY row_no) AS turn
                      FROM settlement_valid WHERE status = 'new' AND init_setl_id <> '') r
              LEFT JOIN settlements_settlementkey ok ON ok.setl_id = r.init_setl_id
              LEFT JOIN settlements_settlementrecord o
                ON o.facility_id = ok.facility_id AND o.settled_at = ok.settled_at AND o.setl_id = ok.setl_id
              LEFT JOIN settlements_settlementkey rk ON rk.init_setl_id = r.init_setl_id""",
            params,
        )
        accepted += self._insert(cursor, "settlement_reversal", "s.rev_reason IS NULL", params)

        # The warnings of the rows that reached the log (uploads write one at a time: IMPORT_LOCK).
        cursor.execute(
            """INSERT INTO settlements_settlementimportwarning (batch_id, row_number, setl_id, code, message)
            SELECT %(batch)s, v.row_no, left(v.setl_id, 100), split_part(w.item, chr(31), 1),
                   left(substr(w.item, strpos(w.item, chr(31)) + 1), 300)
              FROM settlement_valid v CROSS JOIN LATERAL unnest(v.warnings) AS w(item)
             WHERE v.warnings IS NOT NULL AND v.status = 'new'
               AND (v.init_setl_id = '' OR v.row_no IN (SELECT row_no FROM settlement_reversal WHERE rev_reason IS NULL))
             ORDER BY v.row_no""",
            params,
        )
        cursor.execute(
            "SELECT count(DISTINCT row_number) FROM settlements_settlementimportwarning WHERE batch_id = %(batch)s", params
        )
        warned = cursor.fetchone()[0]

        # As the Python engine keeps them (`rejected_raw`): cleaned values, the ID number masked.
        raw = ", ".join(
            f"{_lit(f)}, nullif({mask_id_number_sql(clean_sql(f, 'c.' + f)) if f == 'certno' else clean_sql(f, 'c.' + f)}, '')"
            for f in FIELDS
        )
        # The rejected rows are few: their raw values are looked up in the staging table by row_no.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(
            f"""INSERT INTO settlements_rejectedsettlementrow (batch_id, row_number, setl_id, fixmedins_code, reason, raw)
            SELECT %(batch)s, c.row_no, coalesce(left(nullif({clean_sql('setl_id', 'c.setl_id')}, ''), 100), ''),
                   coalesce(left(nullif({clean_sql('fixmedins_code', 'c.fixmedins_code')}, ''), 100), ''),
                   left(late.reason, 300), jsonb_strip_nulls(jsonb_build_object({raw}))
              FROM {STAGE} c
              JOIN (SELECT row_no, reason FROM settlement_valid WHERE status = 'rejected'
                    UNION ALL
                    SELECT row_no, rev_reason FROM settlement_reversal WHERE rev_reason IS NOT NULL) late
                ON late.row_no = c.row_no
             ORDER BY c.row_no""",
            params,
        )
        rejected = cursor.rowcount
        cursor.execute("SET LOCAL enable_nestloop = on")
        cursor.execute(f"SELECT count(*) FROM {STAGE}")
        total = cursor.fetchone()[0]
        return IngestOutcome(total=total, accepted=accepted, rejected=rejected, duplicates=total - accepted - rejected,
                             warned=warned)

    def _insert(self, cursor, source: str, condition: str, params: dict) -> int:
        """Keys first, ON CONFLICT DO NOTHING: a row whose key another upload took meanwhile is
        not inserted and counts as a duplicate. The rows that reach the log are added to the
        monthly rollup in the same statement. The planner cannot estimate the keys that the
        INSERT … RETURNING yields, and a nested loop over them would be quadratic: hash join."""
        columns = (
            ["setl_id", "mdtrt_id", "psn_no", "psn_name", "certno_masked", "insutype", "clr_type"]
            + list(AMOUNT_FIELDS)
            + ["settled_at", "facility_id", "atddr_no", "init_setl_id"]
            + list(PLATFORM_FIELDS)
        )
        returned = ", ".join(["facility_id", "settled_at", "insutype", "clr_type", "init_setl_id", *AMOUNT_FIELDS])
        # The planner cannot estimate the rows RETURNING yields either: without sorts, the rollup
        # groups them in a hash table (a few hundred groups) and sorts only those.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(
            f"""WITH keys AS (
                INSERT INTO settlements_settlementkey (setl_id, settled_at, fingerprint, init_setl_id, facility_id)
                SELECT s.setl_id, s.settled_at, s.fp, nullif(s.init_setl_id, ''), s.facility_id
                  FROM {source} s WHERE {condition}
                ON CONFLICT DO NOTHING RETURNING setl_id),
            logged AS (
                INSERT INTO {self.target} ({", ".join(columns)}, batch_id, recorded_at, is_demo)
                SELECT {", ".join("s." + c for c in columns)}, %(batch)s, %(now)s, {"true" if self.context.is_demo else "false"}
                  FROM {source} s JOIN keys USING (setl_id) WHERE {condition}
                RETURNING {returned}),
            rollup AS ({upsert_from_sql("logged")})
            SELECT count(*) FROM logged""",
            params,
        )
        inserted = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_nestloop = on")
        cursor.execute("SET LOCAL enable_sort = on")
        return inserted


