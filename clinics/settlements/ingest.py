"""Settlement ingest engines. Both give the same outcome for the same rows:

- `PythonEngine` (SQLite, the embedded `make run`): checks rows in Python, then bulk inserts;
- `PostgresEngine`: COPY into a temporary staging table (the raw CSV bytes when the upload is a
  UTF-8/GB18030 CSV, row by row otherwise), every rule in one SQL pass, then
  `INSERT … ON CONFLICT DO NOTHING` into the key table and the partitioned log.

A row is accepted (new `setl_id`), a duplicate (the same `setl_id` with the same content, already
recorded or earlier in the upload) or rejected (kept with its row number and reason). Reversals
are checked after the ordinary rows of the same upload are in, so an upload may carry a
settlement and its reversal.
"""

import array
import csv
import datetime
import hashlib
import json
import logging
import pickle  # noqa: S403 - chunks from our own child process
import subprocess  # noqa: S404
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import DataError, transaction
from django.utils import timezone

from clinics.models import Facility
from clinics.settlements.fastlane import BLANKS
from clinics.settlements.models import AMOUNT_FIELDS, RejectedSettlementRow, SettlementKey, SettlementRecord
from clinics.settlements.partitions import ensure_partitions, partition_name
from clinics.settlements.rules import (
    AMOUNT_PATTERN,
    AMOUNT_RE,
    CLR_TYPES,
    CODE_FIELDS,
    FIELDS,
    INSUTYPES,
    MAX_LENGTH,
    NEGATIVE_PATTERN,
    NEGATIVE_RE,
    REQUIRED,
    TIME_RE,
    Messages,
    max_amount,
)
from clinics.settlements.selectors import records_by_setl_id
from clinics.settlements.stats import add_rows as add_to_month_stats
from clinics.settlements.stats import add_totals as add_totals_to_month_stats
from clinics.settlements.stats import upsert_from_sql
from core.validators import mask_id_number, normalize_code

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")
STRICT_TIME_PATTERN = (
    r"^(2[0-9]{3}|[3-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
)
# Every string AMOUNT_PATTERN accepts, with each digit written as 9: 1 to 10 digits, then
# optionally a point and 1 or 2 digits.
AMOUNT_SHAPES = ["9" * n + tail for n in range(1, 11) for tail in ("", ".9", ".99")]
AMOUNT_SHAPES_SQL = "ARRAY[" + ", ".join(f"'{shape}'" for shape in AMOUNT_SHAPES) + "]"
CHUNK = 900  # stays under SQLite's limit of host parameters per statement


@dataclass
class RawCsv:
    """A CSV upload handed to COPY as it is: the bytes after the header line."""

    header: list[str]
    body: bytes
    encoding: str  # PostgreSQL's name: UTF8 or GB18030

    @property
    def codec(self) -> str:
        """Python's name of the encoding."""
        return "utf-8" if self.encoding == "UTF8" else "gb18030"


@dataclass
class IngestContext:
    batch_id: int
    own_facility: Facility | None = None  # an insurance terminal may only upload for this clinic
    is_demo: bool = False
    now: datetime.datetime = field(default_factory=timezone.now)


@dataclass
class IngestOutcome:
    total: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


def clean_values(values: dict) -> dict:
    """A row's values as every engine reads them: trimmed (str.strip(): fastlane.BLANKS), and the
    codes written in ASCII where an input method typed full-width digits or letters (NFKC first,
    then trimmed: `normalize_code`). The SQL engine does the same in SQL (`_clean_sql`)."""
    text = {}
    for name in FIELDS:
        value = values.get(name)
        value = "" if value is None else str(value)
        text[name] = normalize_code(value) if name in CODE_FIELDS and not value.isascii() else value.strip()
    return text


def rejected_raw(text: dict) -> dict:
    """What a rejected row keeps of its values: the non-empty ones, with the ID number masked as the
    log masks it (`mask_id_number`), so no full ID number is stored or offered for download."""
    raw = {k: v for k, v in text.items() if v}
    if raw.get("certno"):
        raw["certno"] = mask_id_number(raw["certno"])
    return raw


def fingerprint(values: list) -> str:
    return hashlib.md5("|".join(values).encode()).hexdigest()  # noqa: S324 - a content fingerprint, not security


# --- Python engine --------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    text: dict
    reason: str = ""
    facility_id: int | None = None
    settled_at: datetime.datetime | None = None
    amounts: dict = field(default_factory=dict)
    fp: str = ""


def _parse_time(text: str) -> datetime.datetime | None:
    match = TIME_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match[i] or 0) for i in (1, 2, 3, 4, 5, 7))
    if year < 2000:
        return None
    try:
        naive = datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    return timezone.make_aware(naive, timezone.get_default_timezone())


class PythonEngine:
    def __init__(self, context: IngestContext, messages: Messages):
        self.context = context
        self.m = messages
        self.max_amount = max_amount()
        self.facilities = {
            code: (pk, enabled)
            for code, pk, enabled in Facility.objects.values_list("code", "pk", "settlement_enabled")
        }

    def check(self, row: _Row) -> str:
        m, t = self.m, row.text
        missing = [f for f in REQUIRED if not t[f]]
        if missing:
            return m.missing % {"fields": ", ".join(missing)}
        for name, limit in MAX_LENGTH.items():
            if len(t[name]) > limit:
                return m.too_long % {"field": name, "max": limit}
        if t["insutype"] not in INSUTYPES:
            return m.insutype % {"value": t["insutype"]}
        if t["clr_type"] not in CLR_TYPES:
            return m.clr_type % {"value": t["clr_type"]}
        row.settled_at = _parse_time(t["setl_time"])
        if row.settled_at is None:
            return m.time_format % {"value": t["setl_time"]}
        if row.settled_at > self.context.now:
            return m.time_future % {"value": t["setl_time"]}
        for name in AMOUNT_FIELDS:
            if NEGATIVE_RE.match(t[name]):
                return m.amount_negative % {"field": name, "value": t[name]}
            if not AMOUNT_RE.match(t[name]):
                return m.amount_format % {"field": name, "value": t[name]}
            row.amounts[name] = Decimal(t[name]).quantize(CENT)
        for name in AMOUNT_FIELDS:
            if row.amounts[name] > self.max_amount:
                return m.amount_too_high % {"field": name, "value": row.amounts[name], "max": self.max_amount}
        a = row.amounts
        if a["fund_pay_sumamt"] < a["hifp_pay"] + a["maf_pay"]:
            return m.funds_rule % {"fund": a["fund_pay_sumamt"], "sum": a["hifp_pay"] + a["maf_pay"]}
        paid = a["fund_pay_sumamt"] + a["acct_pay"] + a["psn_cash_pay"]
        if a["medfee_sumamt"] != paid:
            return m.total_rule % {"total": a["medfee_sumamt"], "sum": paid}
        clinic = self.facilities.get(t["fixmedins_code"])
        if clinic is None:
            return m.unknown_clinic % {"value": t["fixmedins_code"]}
        if not clinic[1]:
            return m.clinic_disabled % {"value": t["fixmedins_code"]}
        own = self.context.own_facility
        if own is not None and clinic[0] != own.pk:
            return m.out_of_scope % {"own": own.code, "value": t["fixmedins_code"]}
        if t["init_setl_id"] == t["setl_id"]:
            return m.reverses_itself
        row.facility_id = clinic[0]
        return ""

    def _fingerprint(self, row: _Row) -> str:
        t = row.text
        return fingerprint(
            [t["setl_id"], t["mdtrt_id"], t["psn_no"], t["psn_name"], mask_id_number(t["certno"]), t["insutype"],
             t["clr_type"], str(row.facility_id), str(int(row.settled_at.timestamp()))]
            + [str(row.amounts[name]) for name in AMOUNT_FIELDS]
            + [t["atddr_no"], t["init_setl_id"]]
        )

    def run(self, rows: Iterable[tuple[int, dict]]) -> IngestOutcome:
        outcome = IngestOutcome()
        rejects: list[_Row] = []
        valid: list[_Row] = []
        for number, values in rows:
            outcome.total += 1
            row = _Row(number, clean_values(values))
            row.reason = self.check(row)
            if row.reason:
                rejects.append(row)
            else:
                row.fp = self._fingerprint(row)
                valid.append(row)

        first: dict[str, _Row] = {}
        candidates: list[_Row] = []
        for row in valid:
            earlier = first.get(row.text["setl_id"])
            if earlier is None:
                first[row.text["setl_id"]] = row
                candidates.append(row)
            elif earlier.fp == row.fp:
                outcome.duplicates += 1
            else:
                row.reason = self.m.repeated_in_batch % {"value": row.text["setl_id"], "row": earlier.number}
                rejects.append(row)

        known = self._known_fingerprints([r.text["setl_id"] for r in candidates])
        new_rows, reversals = [], []
        for row in candidates:
            fp = known.get(row.text["setl_id"])
            if fp == row.fp:
                outcome.duplicates += 1
            elif fp is not None:
                row.reason = self.m.conflicts_recorded % {"value": row.text["setl_id"]}
                rejects.append(row)
            else:
                (reversals if row.text["init_setl_id"] else new_rows).append(row)
        outcome.accepted += self._insert(new_rows)
        outcome.accepted += self._insert(self._check_reversals(reversals, rejects))
        self._keep_rejects(rejects)
        outcome.rejected = len(rejects)
        return outcome

    @staticmethod
    def _known_fingerprints(setl_ids: list[str]) -> dict[str, str]:
        known = {}
        for start in range(0, len(setl_ids), CHUNK):
            chunk = setl_ids[start : start + CHUNK]
            known.update(SettlementKey.objects.filter(setl_id__in=chunk).values_list("setl_id", "fingerprint"))
        return known

    def _check_reversals(self, reversals: list[_Row], rejects: list[_Row]) -> list[_Row]:
        if not reversals:
            return []
        wanted = sorted({r.text["init_setl_id"] for r in reversals})
        originals, reversed_already = {}, set()
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            for record in records_by_setl_id(chunk, "facility_id", "init_setl_id", *AMOUNT_FIELDS):
                originals[record.setl_id] = record
            reversed_already.update(
                SettlementKey.objects.filter(init_setl_id__in=chunk).values_list("init_setl_id", flat=True)
            )
        accepted, seen = [], set()
        for row in sorted(reversals, key=lambda r: r.number):
            target = row.text["init_setl_id"]
            original = originals.get(target)
            if original is None:
                row.reason = self.m.original_missing % {"value": target}
            elif original.init_setl_id:
                row.reason = self.m.original_is_reversal % {"value": target}
            elif target in reversed_already or target in seen:
                row.reason = self.m.already_reversed % {"value": target}
            elif original.facility_id != row.facility_id:
                row.reason = self.m.reversal_other_clinic % {"value": target}
            elif any(getattr(original, name) != row.amounts[name] for name in AMOUNT_FIELDS):
                row.reason = self.m.reversal_amounts % {"value": target}
            seen.add(target)
            if row.reason:
                rejects.append(row)
            else:
                accepted.append(row)
        return accepted

    def _insert(self, rows: list[_Row]) -> int:
        if not rows:
            return 0
        context = self.context
        SettlementKey.objects.bulk_create(
            [
                SettlementKey(
                    setl_id=r.text["setl_id"], settled_at=r.settled_at, fingerprint=r.fp,
                    init_setl_id=r.text["init_setl_id"] or None, facility_id=r.facility_id,
                )
                for r in rows
            ],
            batch_size=500,
        )
        records = SettlementRecord.objects.bulk_create(
            [
                SettlementRecord(
                    setl_id=r.text["setl_id"], mdtrt_id=r.text["mdtrt_id"], psn_no=r.text["psn_no"],
                    psn_name=r.text["psn_name"], certno_masked=mask_id_number(r.text["certno"]),
                    insutype=r.text["insutype"], clr_type=r.text["clr_type"], settled_at=r.settled_at,
                    facility_id=r.facility_id, atddr_no=r.text["atddr_no"], init_setl_id=r.text["init_setl_id"],
                    batch_id=context.batch_id, recorded_at=context.now, is_demo=context.is_demo, **r.amounts,
                )
                for r in rows
            ],
            batch_size=500,
        )
        add_to_month_stats(records)
        return len(rows)

    def _keep_rejects(self, rejects: list[_Row]) -> None:
        RejectedSettlementRow.objects.bulk_create(
            [
                RejectedSettlementRow(
                    batch_id=self.context.batch_id, row_number=r.number, setl_id=r.text["setl_id"][:100],
                    fixmedins_code=r.text["fixmedins_code"][:100], reason=r.reason[:300],
                    raw=rejected_raw(r.text),
                )
                for r in sorted(rejects, key=lambda r: r.number)
            ],
            batch_size=500,
        )


# --- PostgreSQL engine ----------------------------------------------------------------------

STAGE = "settlement_stage"
LOCAL_TZ = "Asia/Shanghai"


def _lit(value: str) -> str:
    """A SQL string literal, with % doubled: every statement here is run with parameters."""
    return "'" + str(value).replace("'", "''").replace("%", "%%") + "'"


def _trim(expression: str) -> str:
    """The SQL for a value trimmed as the Python engine trims it (str.strip()): btrim() alone would
    keep an ideographic or no-break space at either end."""
    return f"btrim({expression}, {_lit(BLANKS)})"


def _clean_sql(name: str, expression: str) -> str:
    """The SQL for a value as `clean_values` reads it: a code not in ASCII goes through NFKC first
    (PostgreSQL's normalize(); the ASCII test, octet length = length, keeps it off the usual row)."""
    if name in CODE_FIELDS:
        expression = f"CASE WHEN octet_length({expression}) = length({expression}) THEN {expression} ELSE normalize({expression}, NFKC) END"
    return _trim(expression)


def _masked_sql(expression: str) -> str:
    """`core.validators.mask_id_number` in SQL (an empty value stays empty): the log's certno_masked
    and a rejected row's certno."""
    return (
        f"CASE WHEN {expression} IS NULL OR {expression} = '' THEN '' WHEN length({expression}) >= 10 "
        f"THEN left({expression}, 6) || '********' || right({expression}, 4) ELSE repeat('*', length({expression})) END"
    )


def _sub(template: str, **values: str) -> str:
    """SQL that fills %(name)s placeholders of a translated message with SQL expressions."""
    sql = _lit(template)
    for name, expression in values.items():
        sql = f"replace({sql}, {_lit('%(' + name + ')s')}, {expression})"
    return sql


def _time_sql(column: str) -> str:
    return f"(replace({column}, 'T', ' ')::timestamp AT TIME ZONE '{LOCAL_TZ}')"


class PostgresEngine:
    def __init__(self, context: IngestContext, messages: Messages):
        self.context = context
        self.m = messages
        self.max_amount = max_amount()

    def _reason_sql(self) -> str:
        m = self.m
        s = "s."
        whens = []
        missing_list = ", ".join(f"CASE WHEN {s}{f} IS NULL THEN {_lit(f)} END" for f in REQUIRED)
        whens.append((" OR ".join(f"{s}{f} IS NULL" for f in REQUIRED), _sub(m.missing, fields=f"concat_ws(', ', {missing_list})")))
        for name, limit in MAX_LENGTH.items():
            whens.append((f"length({s}{name}) > {limit}", _sub(m.too_long, field=_lit(name), max=_lit(limit))))
        codes = ", ".join(_lit(c) for c in INSUTYPES)
        whens.append((f"{s}insutype NOT IN ({codes})", _sub(m.insutype, value=f"{s}insutype")))
        codes = ", ".join(_lit(c) for c in CLR_TYPES)
        whens.append((f"{s}clr_type NOT IN ({codes})", _sub(m.clr_type, value=f"{s}clr_type")))
        t = f"{s}setl_time"
        bad_time = _sub(m.time_format, value=t)
        # One regular expression for the shape and the ranges (year from 2000, month, day 01–31,
        # hour, minute, second), the same verdict as TIME_PATTERN plus the range checks of the
        # Python engine; the calendar (30 February) only for days after the 28th.
        whens.append((f"{t} !~ {_lit(STRICT_TIME_PATTERN)}", bad_time))
        whens.append((
            f"substr({t}, 9, 2) > '28' AND substr({t}, 9, 2)::int > "
            f"extract(day from (substr({t}, 1, 7) || '-01')::date + interval '1 month' - interval '1 day')",
            bad_time,
        ))
        whens.append((f"{_time_sql(t)} > %(now)s", _sub(m.time_future, value=t)))
        # One regular expression over all six amounts for the usual, valid row; the per-field
        # checks (and their messages) only run when it fails.
        per_field = []
        for name in AMOUNT_FIELDS:
            per_field.append(f"WHEN {s}{name} ~ {_lit(NEGATIVE_PATTERN)} THEN {_sub(m.amount_negative, field=_lit(name), value=f'{s}{name}')}")
            per_field.append(f"WHEN {s}{name} !~ {_lit(AMOUNT_PATTERN)} THEN {_sub(m.amount_format, field=_lit(name), value=f'{s}{name}')}")
        # The usual, valid row is told by the shape of each amount (every digit mapped to 9, the
        # result looked up in the 30 shapes AMOUNT_PATTERN allows, a hashed array): half the
        # cost of one regular expression over the six amounts, the same verdict.
        all_ok = " AND ".join(
            f"translate({s}{name}, '012345678', '999999999') = ANY({AMOUNT_SHAPES_SQL})" for name in AMOUNT_FIELDS
        )
        whens.append((f"NOT ({all_ok})", "CASE " + " ".join(per_field) + " END"))

        def n(name):
            return f"{s}{name}::numeric(12,2)"

        # The upper bound, field by field as in the Python engine; one test for the usual row.
        top = self.max_amount
        too_high = " ".join(
            f"WHEN {n(name)} > {top} THEN {_sub(m.amount_too_high, field=_lit(name), value=f'{n(name)}::text', max=_lit(top))}"
            for name in AMOUNT_FIELDS
        )
        whens.append((f"greatest({', '.join(n(a) for a in AMOUNT_FIELDS)}) > {top}", f"CASE {too_high} END"))

        whens.append((
            f"{n('fund_pay_sumamt')} < {n('hifp_pay')} + {n('maf_pay')}",
            _sub(m.funds_rule, fund=f"{n('fund_pay_sumamt')}::text", sum=f"({n('hifp_pay')} + {n('maf_pay')})::text"),
        ))
        paid = f"({n('fund_pay_sumamt')} + {n('acct_pay')} + {n('psn_cash_pay')})"
        whens.append((f"{n('medfee_sumamt')} <> {paid}", _sub(m.total_rule, total=f"{n('medfee_sumamt')}::text", sum=f"{paid}::text")))
        whens.append(("f.id IS NULL", _sub(m.unknown_clinic, value=f"{s}fixmedins_code")))
        whens.append(("NOT f.settlement_enabled", _sub(m.clinic_disabled, value=f"{s}fixmedins_code")))
        own = self.context.own_facility
        if own is not None:
            whens.append((f"f.id <> {int(own.pk)}", _sub(m.out_of_scope, own=_lit(own.code), value=f"{s}fixmedins_code")))
        whens.append((f"{s}init_setl_id = {s}setl_id", _lit(m.reverses_itself)))
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
        trimmed = ", ".join(f"nullif({_clean_sql(f, f)}, '') AS {f}" for f in FIELDS)
        cursor.execute("DROP TABLE IF EXISTS settlement_valid, settlement_reversal")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # The temp tables have no statistics and the insert's plan carries disabled-node costs:
        # JIT would compile the statements for ~0.5 s each, more than they take to run.
        cursor.execute("SET LOCAL jit = off")
        amounts = ", ".join(f"CASE WHEN rule_reason IS NULL THEN {a}::numeric(12,2) END AS {a}" for a in AMOUNT_FIELDS)
        certno = _masked_sql("certno")
        fp_parts = ", ".join(
            ["setl_id", "mdtrt_id", "psn_no", "psn_name", "certno_masked", "insutype", "clr_type", "facility_id::text",
             "extract(epoch FROM settled_at)::bigint::text"]
            + [f"{a}::text" for a in AMOUNT_FIELDS]
            + ["atddr_no", "init_setl_id"]
        )
        # The window over each setl_id's rows (a sort) only when a setl_id repeats in the upload.
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {STAGE} GROUP BY {_clean_sql('setl_id', 'setl_id')} HAVING count(*) > 1)")
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
                   w.init_setl_id, w.fp,
                   CASE WHEN w.rule_reason IS NOT NULL THEN 'rejected'
                        WHEN w.row_no <> w.first_row AND w.fp = w.first_fp THEN 'duplicate'
                        WHEN w.row_no <> w.first_row THEN 'rejected'
                        WHEN k.setl_id IS NOT NULL AND k.fingerprint = w.fp THEN 'duplicate'
                        WHEN k.setl_id IS NOT NULL THEN 'rejected'
                        ELSE 'new' END AS status,
                   CASE WHEN w.rule_reason IS NOT NULL THEN w.rule_reason
                        WHEN w.row_no <> w.first_row AND w.fp <> w.first_fp
                            THEN {_sub(m.repeated_in_batch, value="w.setl_id", row="w.first_row::text")}
                        WHEN w.row_no = w.first_row AND k.setl_id IS NOT NULL AND k.fingerprint <> w.fp
                            THEN {_sub(m.conflicts_recorded, value="w.setl_id")} END AS reason
              FROM (SELECT f.*, {first_seen[0]}
                      FROM (SELECT v.*, CASE WHEN v.rule_reason IS NULL THEN md5(concat_ws('|', {fp_parts})) END AS fp
                              FROM (SELECT row_no, rule_reason, setl_id, mdtrt_id, psn_no, psn_name,
                                           {certno} AS certno_masked, insutype, clr_type, facility_id,
                                           CASE WHEN rule_reason IS NULL THEN {_time_sql('setl_time')} END AS settled_at,
                                           {amounts}, coalesce(atddr_no, '') AS atddr_no,
                                           coalesce(init_setl_id, '') AS init_setl_id
                                      FROM (SELECT s.*, f.id AS facility_id, {self._reason_sql()} AS rule_reason
                                              FROM (SELECT row_no, {trimmed} FROM {STAGE} OFFSET 0) s
                                              LEFT JOIN clinics_facility f ON f.code = s.fixmedins_code
                                            OFFSET 0) c) v
                            OFFSET 0) f
                    {first_seen[1]}) w
              LEFT JOIN settlements_settlementkey k ON k.setl_id = w.setl_id AND w.rule_reason IS NULL""",
            params,
        )
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', settled_at AT TIME ZONE '{LOCAL_TZ}')::date "
            "FROM settlement_valid WHERE status = 'new'"
        )
        months = [month for (month,) in cursor.fetchall()]
        ensure_partitions(months)
        # An upload of one month (the usual monthly file) goes straight into its partition: no
        # tuple routing per row. Reversals are rows of the same upload, so of the same months.
        self.target = partition_name(months[0]) if len(months) == 1 else SettlementRecord._meta.db_table
        accepted = self._insert(cursor, "settlement_valid", "s.status = 'new' AND s.init_setl_id = ''", params)

        amounts_differ = " OR ".join(f"o.{a} <> r.{a}" for a in AMOUNT_FIELDS)
        cursor.execute(
            f"""CREATE TEMP TABLE settlement_reversal ON COMMIT DROP AS
            SELECT r.*, CASE
                    WHEN o.setl_id IS NULL THEN {_sub(m.original_missing, value="r.init_setl_id")}
                    WHEN o.init_setl_id <> '' THEN {_sub(m.original_is_reversal, value="r.init_setl_id")}
                    WHEN rk.setl_id IS NOT NULL OR r.turn > 1 THEN {_sub(m.already_reversed, value="r.init_setl_id")}
                    WHEN o.facility_id <> r.facility_id THEN {_sub(m.reversal_other_clinic, value="r.init_setl_id")}
                    WHEN {amounts_differ} THEN {_sub(m.reversal_amounts, value="r.init_setl_id")}
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

        # As the Python engine keeps them (`rejected_raw`): cleaned values, the ID number masked.
        raw = ", ".join(
            f"{_lit(f)}, nullif({_masked_sql(_clean_sql(f, 'c.' + f)) if f == 'certno' else _clean_sql(f, 'c.' + f)}, '')"
            for f in FIELDS
        )
        # The rejected rows are few: their raw values are looked up in the staging table by row_no.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(
            f"""INSERT INTO settlements_rejectedsettlementrow (batch_id, row_number, setl_id, fixmedins_code, reason, raw)
            SELECT %(batch)s, c.row_no, coalesce(left(nullif({_clean_sql('setl_id', 'c.setl_id')}, ''), 100), ''),
                   coalesce(left(nullif({_clean_sql('fixmedins_code', 'c.fixmedins_code')}, ''), 100), ''),
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
        return IngestOutcome(total=total, accepted=accepted, rejected=rejected, duplicates=total - accepted - rejected)

    def _insert(self, cursor, source: str, condition: str, params: dict) -> int:
        """Keys first, ON CONFLICT DO NOTHING: a row whose key another upload took meanwhile is
        not inserted and counts as a duplicate. The rows that reach the log are added to the
        monthly rollup in the same statement. The planner cannot estimate the keys that the
        INSERT … RETURNING yields, and a nested loop over them would be quadratic: hash join."""
        columns = (
            ["setl_id", "mdtrt_id", "psn_no", "psn_name", "certno_masked", "insutype", "clr_type"]
            + list(AMOUNT_FIELDS)
            + ["settled_at", "facility_id", "atddr_no", "init_setl_id"]
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


# --- PostgreSQL fast lane for CSV files ----------------------------------------------------

KEY_COPY = "COPY settlements_settlementkey (setl_id, settled_at, fingerprint, facility_id) FROM STDIN"
LOG_COLUMNS = (
    "setl_id, mdtrt_id, psn_no, psn_name, certno_masked, insutype, clr_type, "
    + ", ".join(AMOUNT_FIELDS)
    + ", settled_at, facility_id, atddr_no, init_setl_id, batch_id, is_demo"
)  # recorded_at: the column's default on PostgreSQL, the transaction's time (migration 0009)


class LaneFailedError(Exception):
    """The fast lane's child could not run or stopped half way."""


@dataclass
class FastLaneResult:
    accepted: int
    duplicates: int
    slow_rows: list  # (row number, {column: value}) for the SQL engine


def fast_lane_request(context: IngestContext, raw: RawCsv, first_chunk: int, chunk: int) -> dict:
    """What the lane's child needs besides the file: the rules' constants, the clinics it may take
    (enabled, and only the terminal's own for a terminal), the time, the batch."""
    clinics = Facility.objects.filter(settlement_enabled=True)
    if context.own_facility is not None:
        clinics = clinics.filter(pk=context.own_facility.pk)
    return {
        "header": raw.header,
        "encoding": raw.codec,
        "fields": FIELDS,
        "max_length": MAX_LENGTH,
        "insutypes": INSUTYPES,
        "clr_types": CLR_TYPES,
        "max_amount": f"{max_amount():.2f}",
        "facilities": dict(clinics.values_list("code", "pk")),
        "now": context.now.timestamp(),
        "tail": f"{context.batch_id},{'t' if context.is_demo else 'f'}\n",
        "first_chunk": first_chunk,
        "chunk": chunk,
    }


class FastLane:
    """Parent side of `fastlane`: starts the child on the upload's bytes as soon as they arrive,
    then COPYs each chunk it returns into the key table and the log, each chunk under its own
    savepoint.

    A chunk's COPY fails when the file's rows were already recorded (a resend: the key table's
    primary key refuses them), when an amount rule is broken (the log's CHECKs), or when another
    upload holds the same keys. Then the chunk is rolled back to its savepoint and sorted out: the
    recorded keys are looked up (same fingerprint: a duplicate; different: to the SQL engine, which
    rejects it), the rows that break an amount rule go to the SQL engine, and the rest is loaded
    again; if that fails too, the whole chunk goes to the SQL engine (INSERT … ON CONFLICT)."""

    # Rows a chunk: the first is small, so that the database starts early; the next ones grow by
    # half while the database works on the one before (it takes longer a row than the child).
    # The tests make them small to cross chunk borders.
    first_chunk, chunk = 2_000, 20_000
    command = [sys.executable, "-S", "-m", "clinics.settlements.fastlane"]  # -S: the standard library is enough

    def __init__(self, data: bytes):
        """Start the child at once: it splits the lines and finds repeated setl_ids while the
        caller checks the header and opens the batch. The bytes go in an unnamed temporary file."""
        self.child: subprocess.Popen | None = None
        self.failure: Exception | None = None
        try:
            with tempfile.TemporaryFile() as upload:
                upload.write(data)
                upload.flush()
                self.child = subprocess.Popen(  # noqa: S603 - our own module, with the interpreter running us
                    [*self.command, str(upload.fileno())], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    cwd=str(settings.BASE_DIR), pass_fds=(upload.fileno(),),
                )
        except OSError as exc:
            self.failure = exc
        self.probe = False  # look the keys up before COPY (once a chunk met recorded keys)
        self.accepted = 0
        self.duplicates = 0
        self.slow: list[int] = []
        self.totals: dict[tuple, list[int]] = {}
        self.months: set[datetime.date] = set()

    def close(self) -> None:
        """Stop the child if it still runs (the file went another way, or something failed)."""
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.wait()

    def run(self, cursor, context: IngestContext, raw: RawCsv) -> FastLaneResult | None:
        """None when the file is not for the fast lane, or when the child failed (then whatever
        the lane had loaded is rolled back): the caller loads the file whole, as before."""
        self.raw = raw
        try:
            if self.failure is not None:
                raise LaneFailedError(self.failure)
            with transaction.atomic():
                return self._run(cursor, fast_lane_request(context, raw, self.first_chunk, self.chunk))
        except LaneFailedError as exc:
            logger.warning("settlement fast lane failed, the file is read the slow way: %s", exc)
            return None
        finally:
            self.close()

    def _run(self, cursor, request: dict) -> FastLaneResult | None:
        child = self.child
        try:
            child.stdin.write(json.dumps(request).encode() + b"\n")
            child.stdin.close()
            while True:
                message = pickle.load(child.stdout)  # noqa: S301 - from our own child process
                if message[0] == "ineligible":
                    return None
                if message[0] == "end":
                    self.slow.extend(message[1])
                    break
                self._load(cursor, message[1])
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            raise LaneFailedError(exc) from exc
        finally:
            child.stdout.close()
            if child.wait() != 0:
                raise LaneFailedError(f"the child exited with {child.returncode}")
        return FastLaneResult(self.accepted, self.duplicates, self._slow_rows())

    # -- chunks

    def _load(self, cursor, chunk: dict) -> None:
        months = {datetime.date(int(m[:4]), int(m[5:7]), 1) for (_f, m, _i, _c) in chunk["totals"]}
        if months - self.months:
            ensure_partitions(months - self.months)
            self.months |= months
        target = partition_name(next(iter(months))) if len(months) == 1 else SettlementRecord._meta.db_table
        keys, logs, totals = chunk["keys"], chunk["logs"], chunk["totals"]
        rows = array.array("q", chunk["rows"]).tolist()
        if self.probe:
            keys, logs, rows, totals = self._without_recorded(cursor, keys, logs, rows)
        error = self._copy(cursor, target, keys, logs)
        if error is not None:
            if error.sqlstate == "23505" and not self.probe:  # unique_violation: recorded keys
                self.probe = True
                keys, logs, rows, totals = self._without_recorded(cursor, keys, logs, rows)
            elif error.sqlstate == "23514":  # check_violation: an amount rule
                keys, logs, rows, totals = self._without_rule_breakers(keys, logs, rows)
            else:
                keys = b""
            if not keys or self._copy(cursor, target, keys, logs) is not None:
                self.slow.extend(rows)
                return
        self.accepted += len(rows)
        for key, line in totals.items():
            total = self.totals.setdefault(key, [0] * 7)
            for i, value in enumerate(line):
                total[i] += value

    @staticmethod
    def _copy(cursor, target: str, keys: bytes, logs: bytes):
        """COPY a chunk under a savepoint; the database error, or None."""
        import psycopg

        try:
            with transaction.atomic():
                with cursor.cursor.copy(KEY_COPY) as copy:
                    copy.write(keys)
                with cursor.cursor.copy(f"COPY {target} ({LOG_COLUMNS}) FROM STDIN") as copy:
                    copy.write(logs)
        except psycopg.Error as exc:
            return exc
        return None

    def _keep(self, keys: bytes, logs: bytes, rows: list[int], keep) -> tuple[bytes, bytes, list[int], dict]:
        """The chunk without the rows `keep(key line, log line, row number)` refuses."""
        kept = ([], [], [])
        for key, log, number in zip(keys.splitlines(True), logs.splitlines(True), rows, strict=True):
            if keep(key, log, number):
                for bucket, value in zip(kept, (key, log, number), strict=True):
                    bucket.append(value)
        return b"".join(kept[0]), b"".join(kept[1]), kept[2], self._totals_of(kept[1])

    def _without_recorded(self, cursor, keys: bytes, logs: bytes, rows: list[int]):
        fingerprints = dict(line.split(b"\t")[0:3:2] for line in keys.splitlines())
        cursor.execute(
            "SELECT setl_id, fingerprint FROM settlements_settlementkey WHERE setl_id = ANY(%s)",
            [[setl_id.decode() for setl_id in fingerprints]],
        )
        recorded = {setl_id.encode(): fp.encode() for setl_id, fp in cursor.fetchall()}

        def keep(key, _log, number):
            setl_id = key[: key.index(b"\t")]
            known = recorded.get(setl_id)
            if known is None:
                return True
            if known == fingerprints[setl_id]:
                self.duplicates += 1
            else:
                self.slow.append(number)  # the SQL engine rejects it: recorded with other content
            return False

        return self._keep(keys, logs, rows, keep)

    def _without_rule_breakers(self, keys: bytes, logs: bytes, rows: list[int]):
        def keep(_key, log, number):
            medfee, fund, hifp, maf, acct, cash = (int(v.replace(b".", b"")) for v in log.split(b"\t")[7:13])
            if fund < hifp + maf or medfee != fund + acct + cash:
                self.slow.append(number)
                return False
            return True

        return self._keep(keys, logs, rows, keep)

    @staticmethod
    def _totals_of(logs: list[bytes]) -> dict:
        totals: dict[tuple, list[int]] = {}
        for log in logs:
            v = log.decode().split("\t")
            line = totals.setdefault((int(v[14]), v[13][:7], v[5], v[6]), [0] * 7)
            line[0] += 1
            for i, text in enumerate(v[7:13], start=1):
                line[i] += int(text.replace(".", ""))
        return totals

    def add_totals(self) -> None:
        """Add the rows the lane loaded to the monthly rollup (the caller does it last)."""
        lines = {
            (facility_id, datetime.date(int(month[:4]), int(month[5:7]), 1), insutype, clr_type): [
                visits,
                0,
                *(Decimal(c).scaleb(-2) for c in cents),
            ]
            for (facility_id, month, insutype, clr_type), (visits, *cents) in self.totals.items()
        }
        add_totals_to_month_stats(lines)

    # -- the rows for the SQL engine

    def _slow_rows(self) -> list[tuple[int, dict]]:
        """The rows the lane did not take, as the SQL engine reads them (values as in the file;
        it trims them itself)."""
        if not self.slow:
            return []
        lines = self.raw.body.decode(self.raw.codec).split("\n")
        header = self.raw.header
        rows = []
        for number in sorted(self.slow):
            values = next(csv.reader([lines[number - 2].rstrip("\r")]), [])
            row = {}
            for column, value in zip(header, values, strict=False):
                if column in FIELDS and column not in row:
                    row[column] = value
            rows.append((number, row))
        return rows
