"""The row rules of settlement ingest, written once: an ordered table (`RULES`) from which every
engine is driven.

Each entry has its code, its message (translated; stored for the clerk who corrects the row, so
it says what to fix) and its forms side by side:

- `python`: the Python engine's test, `(row, field) -> params | None` (params fill the message);
- `sql`: the PostgreSQL engine's WHENs, `(terms, field) -> [(condition, {param: SQL expression})]`,
  compiled in table order into one CASE (`ingest.sql_engine`);
- `lane`: how the fast lane (`fastlane`) makes sure it never takes a row that breaks the rule
  (it never rejects: a row it does not take goes to the SQL engine, which gives the reason);
- `constraint`: where the rule is also an invariant of the database, the name and the PostgreSQL
  expression of the log's CHECK (migration 0009 writes it; a test compares it with the one the
  database really has).

The first rule a row breaks gives its reason. A rule with `fields` is checked field by field, and
adjacent rules of one `group` field-major (a field's every rule before the next field), so the
first field in error is the one named. `sql_guard` is one condition true exactly when some field
breaks a rule of the group (cheap for the usual, valid row); the per-field WHENs run inside it.

The rules about the upload as a whole and about what is recorded (a repeat, a conflict, the
reversal rules) need the other rows: their messages are `LATER`, the engines apply them.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from clinics.settlements import spec
from clinics.settlements.models import ClearingType, InsuranceType
from clinics.settlements.spec import (  # noqa: F401 - the shape of an upload, re-exported for its readers
    AMOUNT_FIELDS,
    AMOUNT_PATTERN,
    CODE_FIELDS,
    FIELDS,
    MAX_LENGTH,
    NEGATIVE_PATTERN,
    OPTIONAL,
    REQUIRED,
    TIME_PATTERN,
)

INSUTYPES = [c.value for c in InsuranceType]
CLR_TYPES = [c.value for c in ClearingType]
CENT = Decimal("0.01")


def max_amount() -> Decimal:
    """The upper bound of each amount of one settlement (setting SETTLEMENT_MAX_AMOUNT, yuan)."""
    return Decimal(settings.SETTLEMENT_MAX_AMOUNT).quantize(CENT)


class Lane(StrEnum):
    """How the fast lane keeps a row that breaks a rule out of what it takes."""

    PATTERN = "pattern"  # the line pattern, built from `spec`, does not match: the line goes on
    CLOCK = "clock"  # the lane compares the time with the request's `now`
    BOUND = "bound"  # medfee_sumamt against `max_amount` (a row that keeps both amount rules has no larger amount)
    CHECK = "check"  # the log's CHECK constraint refuses the chunk; the parent hands the breaking rows on
    CLINICS = "clinics"  # the request lists only the enabled clinics in the uploader's reach
    NO_REVERSALS = "no reversals"  # the line pattern takes an empty init_setl_id only
    GUARD = "guard"  # the rule's `lane_guard`: a lookahead put before the field in the line pattern


@dataclass(frozen=True)
class Rule:
    code: str
    message: str
    python: Callable
    sql: Callable
    lane: Lane
    fields: tuple[str, ...] = ()
    group: str = ""
    sql_guard: Callable | None = None
    constraint: tuple[str, str] | None = None
    # For Lane.GUARD: (field, a lookahead in Python's bytes regex syntax that a value the rule
    # accepts always passes, e.g. "(?![0-9]+,)"); the fast lane hands on a line that fails it.
    lane_guard: tuple[str, str] | None = None


class RowCheck:
    """A row's cleaned values as the Python rules read them, with what they derive (the time, the
    amounts, the clinic) worked out once and kept for the insert."""

    def __init__(self, text: dict, engine):
        self.t = text
        self.engine = engine  # its context (now, the uploader's clinic), clinics and bound

    @cached_property
    def settled_at(self):
        return self.engine.parse_time(self.t["setl_time"])

    def amount(self, name: str) -> Decimal:
        return self.amounts[name]

    @cached_property
    def amounts(self) -> dict:
        return {name: Decimal(self.t[name]).quantize(CENT) for name in AMOUNT_FIELDS}

    @cached_property
    def clinic(self):
        """(id, enabled) of the clinic named by fixmedins_code, or None."""
        return self.engine.facilities.get(self.t["fixmedins_code"])


class SqlTerms:
    """What the SQL rules are written in: `col(name)` is a trimmed value of the staging row (NULL
    when blank), `num(name)` an amount as numeric(12,2), `f` the clinic joined by code."""

    def __init__(self, *, own_facility, top: Decimal, time_sql: Callable[[str], str], lit: Callable[[str], str]):
        self.own_facility = own_facility
        self.top = top
        self.time_sql = time_sql
        self.lit = lit

    @staticmethod
    def col(name: str) -> str:
        return f"s.{name}"

    def num(self, name: str) -> str:
        return f"s.{name}::numeric(12,2)"


def _missing(row, _field):
    missing = [f for f in REQUIRED if not row.t[f]]
    return {"fields": ", ".join(missing)} if missing else None


def _missing_sql(q, _field):
    listed = ", ".join(f"CASE WHEN {q.col(f)} IS NULL THEN {q.lit(f)} END" for f in REQUIRED)
    return [(" OR ".join(f"{q.col(f)} IS NULL" for f in REQUIRED), {"fields": f"concat_ws(', ', {listed})"})]


def _one_of(name: str, values: list[str]):
    def python(row, _field):
        return None if row.t[name] in values else {"value": row.t[name]}

    def sql(q, _field):
        return [(f"{q.col(name)} NOT IN ({', '.join(q.lit(v) for v in values)})", {"value": q.col(name)})]

    return python, sql


def _time_sql(q, _field):
    t = q.col("setl_time")
    # The calendar (30 February) only for days after the 28th.
    calendar = (
        f"substr({t}, 9, 2) > '28' AND substr({t}, 9, 2)::int > "
        f"extract(day from (substr({t}, 1, 7) || '-01')::date + interval '1 month' - interval '1 day')"
    )
    return [(f"{t} !~ {q.lit(TIME_PATTERN)}", {"value": t}), (calendar, {"value": t})]


# Every string AMOUNT_PATTERN accepts, with each digit written as 9: the usual, valid row is told
# by the shape of each amount (every digit mapped to 9, looked up in a hashed array): half the cost
# of one regular expression over the six amounts, the same verdict.
AMOUNT_SHAPES = ["9" * n + tail for n in range(1, spec.AMOUNT_DIGITS + 1)
                 for tail in ("", *("." + "9" * d for d in range(1, spec.AMOUNT_DECIMALS + 1)))]
_SHAPES_SQL = "ARRAY[" + ", ".join(f"'{shape}'" for shape in AMOUNT_SHAPES) + "]"


def _amount_text_guard(q):
    return "NOT (" + " AND ".join(
        f"translate({q.col(a)}, '012345678', '999999999') = ANY({_SHAPES_SQL})" for a in AMOUNT_FIELDS
    ) + ")"


def _pattern(pattern: str, matches: bool):
    test = re.compile(pattern).match

    def python(row, field):
        return {"field": field, "value": row.t[field]} if bool(test(row.t[field])) == matches else None

    def sql(q, field):
        return [(f"{q.col(field)} {'~' if matches else '!~'} {q.lit(pattern)}", {"field": q.lit(field), "value": q.col(field)})]

    return python, sql


def _too_high(row, field):
    top = row.engine.max_amount
    return {"field": field, "value": row.amount(field), "max": top} if row.amount(field) > top else None


def _too_high_sql(q, field):
    return [(f"{q.num(field)} > {q.top}", {"field": q.lit(field), "value": f"{q.num(field)}::text", "max": q.lit(q.top)})]


def _funds(row, _field):
    a = row.amounts
    covered = a["hifp_pay"] + a["maf_pay"]
    return {"fund": a["fund_pay_sumamt"], "sum": covered} if a["fund_pay_sumamt"] < covered else None


def _funds_sql(q, _field):
    covered = f"{q.num('hifp_pay')} + {q.num('maf_pay')}"
    return [(f"{q.num('fund_pay_sumamt')} < {covered}", {"fund": f"{q.num('fund_pay_sumamt')}::text", "sum": f"({covered})::text"})]


def _total(row, _field):
    a = row.amounts
    paid = a["fund_pay_sumamt"] + a["acct_pay"] + a["psn_cash_pay"]
    return {"total": a["medfee_sumamt"], "sum": paid} if a["medfee_sumamt"] != paid else None


def _total_sql(q, _field):
    paid = f"({q.num('fund_pay_sumamt')} + {q.num('acct_pay')} + {q.num('psn_cash_pay')})"
    return [(f"{q.num('medfee_sumamt')} <> {paid}", {"total": f"{q.num('medfee_sumamt')}::text", "sum": f"{paid}::text"})]


def _own(row, _field):
    own = row.engine.context.own_facility
    if own is not None and row.clinic[0] != own.pk:
        return {"own": own.code, "value": row.t["fixmedins_code"]}
    return None


def _own_sql(q, _field):
    own = q.own_facility
    if own is None:
        return []
    return [(f"f.id <> {int(own.pk)}", {"own": q.lit(own.code), "value": q.col("fixmedins_code")})]


_insutype = _one_of("insutype", INSUTYPES)
_clr_type = _one_of("clr_type", CLR_TYPES)
_negative = _pattern(NEGATIVE_PATTERN, matches=True)
_not_amount = _pattern(AMOUNT_PATTERN, matches=False)

RULES: list[Rule] = [
    Rule(
        "missing", _("Missing required fields: %(fields)s. Fill them in and send the row again."),
        python=_missing, sql=_missing_sql, lane=Lane.PATTERN,
    ),
    Rule(
        "too_long",
        _("%(field)s is too long (at most %(max)s characters); check that the column holds the right value."),
        python=lambda row, f: {"field": f, "max": MAX_LENGTH[f]} if len(row.t[f]) > MAX_LENGTH[f] else None,
        sql=lambda q, f: [(f"length({q.col(f)}) > {MAX_LENGTH[f]}", {"field": q.lit(f), "max": q.lit(MAX_LENGTH[f])})],
        lane=Lane.PATTERN, fields=tuple(MAX_LENGTH),
    ),
    Rule(
        "insutype", _("insutype must be 390 (residents) or 310 (employees), not “%(value)s”."),
        python=_insutype[0], sql=_insutype[1], lane=Lane.PATTERN,
    ),
    Rule(
        "clr_type",
        _("clr_type must be 11 (outpatient) or 14 (outpatient chronic and special diseases), not “%(value)s”."),
        python=_clr_type[0], sql=_clr_type[1], lane=Lane.PATTERN,
    ),
    Rule(
        "time_format", _("setl_time “%(value)s” is not a valid date and time; write it like 2026-11-03 09:30:00."),
        python=lambda row, _f: {"value": row.t["setl_time"]} if row.settled_at is None else None,
        sql=_time_sql, lane=Lane.PATTERN,
    ),
    Rule(
        "time_future", _("setl_time %(value)s lies in the future; check the terminal's clock and the date."),
        python=lambda row, _f: {"value": row.t["setl_time"]} if row.settled_at > row.engine.context.now else None,
        sql=lambda q, _f: [(f"{q.time_sql(q.col('setl_time'))} > %(now)s", {"value": q.col("setl_time")})],
        lane=Lane.CLOCK,
    ),
    Rule(
        "amount_negative",
        _("%(field)s is negative (%(value)s); amounts cannot be negative — send a reversal to cancel a settlement."),
        python=_negative[0], sql=_negative[1], lane=Lane.PATTERN, fields=AMOUNT_FIELDS, group="amount text",
        sql_guard=_amount_text_guard,
        constraint=("settlement_amounts_not_negative",
                    "hifp_pay >= 0 AND maf_pay >= 0 AND acct_pay >= 0 AND psn_cash_pay >= 0"),
    ),
    Rule(
        "amount_format", _("%(field)s “%(value)s” is not an amount; write yuan with at most two decimals, like 35.50."),
        python=_not_amount[0], sql=_not_amount[1], lane=Lane.PATTERN, fields=AMOUNT_FIELDS, group="amount text",
        sql_guard=_amount_text_guard,
    ),
    Rule(
        "amount_too_high",
        _("%(field)s (%(value)s) is above the upper bound of %(max)s yuan for one settlement; check the "
          "amount (a decimal point may be missing)."),
        python=_too_high, sql=_too_high_sql, lane=Lane.BOUND, fields=AMOUNT_FIELDS,
        sql_guard=lambda q: f"greatest({', '.join(q.num(a) for a in AMOUNT_FIELDS)}) > {q.top}",
    ),
    Rule(
        "funds_rule", _("fund_pay_sumamt (%(fund)s) is less than hifp_pay + maf_pay (%(sum)s); correct the fund amounts."),
        python=_funds, sql=_funds_sql, lane=Lane.CHECK,
        constraint=("settlement_funds_cover_hifp_maf", "fund_pay_sumamt >= hifp_pay + maf_pay"),
    ),
    Rule(
        "total_rule",
        _("medfee_sumamt (%(total)s) does not equal fund_pay_sumamt + acct_pay + psn_cash_pay (%(sum)s); "
          "correct the amounts."),
        python=_total, sql=_total_sql, lane=Lane.CHECK,
        constraint=("settlement_total_adds_up", "medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay"),
    ),
    Rule(
        "unknown_clinic", _("Unknown clinic code fixmedins_code “%(value)s”; use the clinic's code from the register."),
        python=lambda row, _f: {"value": row.t["fixmedins_code"]} if row.clinic is None else None,
        sql=lambda q, _f: [("f.id IS NULL", {"value": q.col("fixmedins_code")})], lane=Lane.CLINICS,
    ),
    Rule(
        "clinic_disabled", _("Clinic %(value)s is not enabled for insurance settlement; ask the county to enable it."),
        python=lambda row, _f: None if row.clinic[1] else {"value": row.t["fixmedins_code"]},
        sql=lambda q, _f: [("NOT f.settlement_enabled", {"value": q.col("fixmedins_code")})], lane=Lane.CLINICS,
    ),
    Rule(
        "out_of_scope", _("This terminal may only upload its own clinic's settlements (%(own)s), not %(value)s's."),
        python=_own, sql=_own_sql, lane=Lane.CLINICS,
    ),
    Rule(
        "reverses_itself", _("init_setl_id names the settlement itself; give the setl_id of the original settlement."),
        python=lambda row, _f: {} if row.t["init_setl_id"] == row.t["setl_id"] else None,
        sql=lambda q, _f: [(f"{q.col('init_setl_id')} = {q.col('setl_id')}", {})], lane=Lane.NO_REVERSALS,
    ),
]

LATER = {
    "repeated_in_batch": _("setl_id %(value)s appears earlier in this upload (row %(row)s) with different content."),
    "conflicts_recorded": _(
        "setl_id %(value)s is already recorded with different content; a recorded settlement cannot be "
        "changed — send a reversal and a new settlement instead."
    ),
    "original_missing": _("The original settlement init_setl_id %(value)s is not recorded; send the original first."),
    "original_is_reversal": _("init_setl_id %(value)s is itself a reversal and cannot be reversed."),
    "already_reversed": _("The settlement %(value)s has already been reversed."),
    "reversal_other_clinic": _("The reversal's clinic differs from the clinic of the original settlement %(value)s."),
    "reversal_amounts": _("A reversal must carry the same amounts as the original settlement %(value)s."),
}


def messages() -> dict[str, str]:
    """Every reason text by code, translated once per ingest (the caller picks the language: the
    site's, since the reasons are stored for the clerk who corrects the rows)."""
    return {rule.code: str(rule.message) for rule in RULES} | {code: str(text) for code, text in LATER.items()}


def steps(rules: list[Rule] = RULES) -> list[list[tuple[Rule, str | None]]]:
    """The rules in checking order: each step a list of (rule, field) pairs, one step per rule
    without fields, one per run of a group (field-major), one per rule with fields otherwise.
    A step's pairs are tried in order; the steps likewise."""
    out: list[list[tuple[Rule, str | None]]] = []
    i = 0
    while i < len(rules):
        rule = rules[i]
        if not rule.fields:
            out.append([(rule, None)])
            i += 1
            continue
        block = [rule]
        while rule.group and i + len(block) < len(rules) and rules[i + len(block)].group == rule.group:
            block.append(rules[i + len(block)])
        out.append([(r, f) for f in rule.fields for r in block])
        i += len(block)
    return out


STEPS = steps()


def lane_guards() -> dict[str, str]:
    """{field: the lookaheads the fast lane puts before it}, from the rules with a `lane_guard`."""
    guards: dict[str, str] = {}
    for rule in RULES:
        if rule.lane_guard:
            field, lookahead = rule.lane_guard
            guards[field] = guards.get(field, "") + lookahead
    return guards


def rule_constraints() -> dict[str, str]:
    """{constraint name: PostgreSQL CHECK expression} of the rules that are database invariants."""
    return dict(rule.constraint for rule in RULES if rule.constraint)
