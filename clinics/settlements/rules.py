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
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.settlements import dictionaries, spec
from clinics.settlements.models import SettlementRecord
from clinics.settlements.spec import (  # noqa: F401 - the shape of an upload, re-exported for its readers
    AMOUNT_FIELDS,
    AMOUNT_PATTERN,
    CODE_FIELDS,
    FIELDS,
    MAX_LENGTH,
    NEGATIVE_PATTERN,
    OPTIONAL,
    PLATFORM_AMOUNTS,
    PLATFORM_FIELDS,
    REQUIRED,
    SIGNED_AMOUNTS,
    TIME_PATTERN,
)

CENT = Decimal("0.01")
# Every amount of a row as the rules read it (the six the log always kept, then the 2207 ones).
ALL_AMOUNTS = AMOUNT_FIELDS + PLATFORM_AMOUNTS
# The amounts bounded per visit: every payment (not the account's balance).
BOUNDED_AMOUNTS = tuple(a for a in ALL_AMOUNTS if a not in spec.BALANCE_FIELDS)
# The fields checked against a platform dictionary (clinics.settlements.dictionaries), in upload order.
CODED_FIELDS = tuple(f for f in FIELDS if f in dictionaries.DICTIONARY_FIELDS)
# Values of the other numbers: N5,4 (a ratio) and N4,1 (an age), as the platform declares them.
NUMBER_PATTERNS = {
    **dict.fromkeys(spec.RATIO_FIELDS, r"^[0-9](\.[0-9]{1,4})?$"),
    **dict.fromkeys(spec.AGE_FIELDS, r"^[0-9]{1,3}(\.[0-9])?$"),
}
NUMBER_FORMS = {**dict.fromkeys(spec.RATIO_FIELDS, "0.8500"), **dict.fromkeys(spec.AGE_FIELDS, "38.5")}
NUMBER_TYPES = {**dict.fromkeys(spec.RATIO_FIELDS, "numeric(5,4)"), **dict.fromkeys(spec.AGE_FIELDS, "numeric(4,1)")}
# A date (brdy): yyyy-MM-dd from 1900; the calendar is checked after the pattern.
DATE_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
DATE_RE = re.compile(DATE_PATTERN)

# Names of the upload's columns that are no column of the log under the same name.
_OTHER_LABELS = {
    "certno": _("Certificate number"),
    "setl_time": _("Settlement time"),
    "fixmedins_code": _("Designated medical institution code"),
}


def field_label(name: str) -> str:
    """A field as the messages name it: its Chinese name with the platform's name in brackets,
    “医疗费总额（medfee_sumamt）” (the model's verbose name, translated)."""
    label = _OTHER_LABELS.get(name)
    if label is None:
        try:
            label = SettlementRecord._meta.get_field(name).verbose_name
        except FieldDoesNotExist:
            label = name
    return gettext("%(label)s (%(field)s)") % {"label": label, "field": name}


def max_amount() -> Decimal:
    """The upper bound of each amount of one settlement (setting SETTLEMENT_MAX_AMOUNT, yuan)."""
    return Decimal(settings.SETTLEMENT_MAX_AMOUNT).quantize(CENT)


def relation_tolerance() -> Decimal:
    """How far the two sides of an amount relation may differ (SETTLEMENT_RELATION_TOLERANCE, yuan)."""
    return Decimal(getattr(settings, "SETTLEMENT_RELATION_TOLERANCE", "0.00")).quantize(CENT)


def confirmed_relations() -> frozenset[str]:
    """The relation codes the county confirmed (SETTLEMENT_CONFIRMED_RELATIONS): rejections, not warnings."""
    return frozenset(getattr(settings, "SETTLEMENT_CONFIRMED_RELATIONS", ()))


class Lane(StrEnum):
    """How the fast lane keeps a row that breaks a rule out of what it takes."""

    PATTERN = "pattern"  # the line pattern, built from `spec`, does not match: the line goes on
    CLOCK = "clock"  # the lane compares the time with the request's `now`
    BOUND = "bound"  # medfee_sumamt against `max_amount` (a row that keeps both amount rules has no larger amount)
    CHECK = "check"  # the log's CHECK constraint refuses the chunk; the parent hands the breaking rows on
    CLINICS = "clinics"  # the request lists only the enabled clinics in the uploader's reach
    NO_REVERSALS = "no reversals"  # the line pattern takes an empty init_setl_id only
    GUARD = "guard"  # the rule's `lane_guard`: a lookahead put before the field in the line pattern
    RELATION = "relation"  # the lane checks the relation (`Relation.as_lane`) and hands a breaking row on


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
    # An amount relation of 2207 (`Relation`): a warning until the county confirms it.
    relation: "Relation | None" = None

    @property
    def warns(self) -> bool:
        """A relation not confirmed (SETTLEMENT_CONFIRMED_RELATIONS) warns instead of rejecting."""
        return self.relation is not None and self.code not in confirmed_relations()


@dataclass(frozen=True)
class Relation:
    """`total` op the sum of `parts` (a part not given counts 0), checked only when every field of
    `given` is given; within `relation_tolerance()`. `op` is "=" or "<=". The fast lane gets these
    as data (`as_lane`) and never takes a row that breaks one, confirmed or not: the SQL engine
    then warns or rejects."""

    total: str
    parts: tuple[str, ...]
    given: tuple[str, ...]
    op: str = "="

    def broken(self, amounts: dict, tolerance: Decimal) -> tuple[Decimal, Decimal] | None:
        if any(amounts.get(f) is None for f in (self.total, *self.given)):
            return None
        total = amounts[self.total]
        parts = sum((amounts.get(p) or Decimal("0.00") for p in self.parts), Decimal("0.00"))
        bad = total > parts + tolerance if self.op == "<=" else abs(total - parts) > tolerance
        return (total, parts) if bad else None

    def sql(self, q) -> tuple[str, str, str]:
        """(condition, total as text, sum as text) over SqlTerms `q`."""
        given = " AND ".join(f"{q.col(f)} IS NOT NULL" for f in (self.total, *self.given))
        parts = "(" + " + ".join(f"coalesce({q.num(p)}, 0)" for p in self.parts) + ")"
        total = q.num(self.total)
        tol = q.lit(q.tolerance) + "::numeric"
        bad = f"{total} > {parts} + {tol}" if self.op == "<=" else f"abs({total} - {parts}) > {tol}"
        return f"({given} AND {bad})", f"{total}::text", f"{parts}::text"

    def as_lane(self) -> list:
        return [self.total, list(self.parts), list(self.given), self.op]


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
        """Every amount as Decimal (None for a 2207 amount not given)."""
        return {name: Decimal(self.t[name]).quantize(CENT) if self.t[name] else None for name in ALL_AMOUNTS}

    @cached_property
    def numbers(self) -> dict:
        """The ratio and the age as Decimal, the date of birth as a date (None when not given)."""
        out = {name: Decimal(self.t[name]) if self.t[name] else None for name in NUMBER_PATTERNS}
        for name in spec.DATE_FIELDS:
            out[name] = parse_date(self.t[name])
        return out

    @cached_property
    def clinic(self):
        """(id, enabled) of the clinic named by fixmedins_code, or None."""
        return self.engine.facilities.get(self.t["fixmedins_code"])


class SqlTerms:
    """What the SQL rules are written in: `col(name)` is a trimmed value of the staging row (NULL
    when blank), `num(name)` an amount as numeric(12,2), `f` the clinic joined by code."""

    def __init__(self, *, own_facility, top: Decimal, time_sql: Callable[[str], str], lit: Callable[[str], str],
                 codes: dict | None = None, tolerance: Decimal = Decimal("0.00"), alias: str = "s"):
        self.own_facility = own_facility
        self.top = top
        self.time_sql = time_sql
        self.lit = lit
        self.codes = codes or {}
        self.tolerance = tolerance
        self.alias = alias

    def col(self, name: str) -> str:
        return f"{self.alias}.{name}"

    def num(self, name: str) -> str:
        return f"{self.col(name)}::numeric(12,2)"


def parse_date(text: str):
    """A date of birth as a date, or None when it is none (the pattern, then the calendar)."""
    import datetime

    if not text or not DATE_RE.match(text):
        return None
    try:
        return datetime.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return None


def _missing(row, _field):
    missing = [f for f in REQUIRED if not row.t[f]]
    return {"fields": ", ".join(missing)} if missing else None


def _missing_sql(q, _field):
    listed = ", ".join(f"CASE WHEN {q.col(f)} IS NULL THEN {q.lit(f)} END" for f in REQUIRED)
    return [(" OR ".join(f"{q.col(f)} IS NULL" for f in REQUIRED), {"fields": f"concat_ws(', ', {listed})"})]


def _code(row, field):
    """A code not in its dictionary's enabled codes (an empty optional code is not checked)."""
    value = row.t[field]
    if not value or value in row.engine.codes[field]:
        return None
    return {"field": field_label(field), "value": value, "dictionary": dictionaries.dictionary_label(field)}


def _code_sql(q, field):
    known = q.codes[field]
    listed = "ARRAY[" + ", ".join(q.lit(c) for c in sorted(known)) + "]::text[]" if known else "ARRAY[]::text[]"
    return [(f"NOT ({q.col(field)} = ANY({listed}))",
             {"field": q.lit(field_label(field)), "value": q.col(field),
              "dictionary": q.lit(dictionaries.dictionary_label(field))})]


def _time_sql(q, _field):
    t = q.col("setl_time")
    # The calendar (30 February) only for days after the 28th.
    calendar = (
        f"substr({t}, 9, 2) > '28' AND substr({t}, 9, 2)::int > "
        f"extract(day from (substr({t}, 1, 7) || '-01')::date + interval '1 month' - interval '1 day')"
    )
    return [(f"{t} !~ {q.lit(TIME_PATTERN)}", {"value": t}), (calendar, {"value": t})]


def _date(row, field):
    value = row.t[field]
    return {"field": field_label(field), "value": value} if value and parse_date(value) is None else None


def _date_sql(q, field):
    d = q.col(field)
    calendar = (
        f"substr({d}, 9, 2) > '28' AND substr({d}, 9, 2)::int > "
        f"extract(day from (substr({d}, 1, 7) || '-01')::date + interval '1 month' - interval '1 day')"
    )
    params = {"field": q.lit(field_label(field)), "value": d}
    return [(f"{d} !~ {q.lit(DATE_PATTERN)}", params), (calendar, params)]


def _number(row, field):
    value = row.t[field]
    if value and not re.match(NUMBER_PATTERNS[field], value):
        return {"field": field_label(field), "value": value, "form": NUMBER_FORMS[field]}
    return None


def _number_sql(q, field):
    return [(f"{q.col(field)} !~ {q.lit(NUMBER_PATTERNS[field])}",
             {"field": q.lit(field_label(field)), "value": q.col(field), "form": q.lit(NUMBER_FORMS[field])})]


# Every string AMOUNT_PATTERN accepts, with each digit written as 9: the usual, valid row is told
# by the shape of each amount (every digit mapped to 9, looked up in a hashed array): half the cost
# of one regular expression over the six amounts, the same verdict. An amount not given (NULL)
# makes the test NULL, which never takes the guard unless another amount fails it.
AMOUNT_SHAPES = ["9" * n + tail for n in range(1, spec.AMOUNT_DIGITS + 1)
                 for tail in ("", *("." + "9" * d for d in range(1, spec.AMOUNT_DECIMALS + 1)))]
_SHAPES_SQL = "ARRAY[" + ", ".join(f"'{shape}'" for shape in AMOUNT_SHAPES) + "]"


def _amount_text_guard(q):
    return "NOT (" + " AND ".join(
        f"translate({q.col(a)}, '012345678', '999999999') = ANY({_SHAPES_SQL})" for a in ALL_AMOUNTS
    ) + ")"


def _pattern(pattern: str, matches: bool):
    test = re.compile(pattern).match

    def python(row, field):
        value = row.t[field]
        if not value:  # an optional 2207 amount not given (a required one is refused as missing)
            return None
        return {"field": field_label(field), "value": value} if bool(test(value)) == matches else None

    def sql(q, field):
        return [(f"{q.col(field)} {'~' if matches else '!~'} {q.lit(pattern)}",
                 {"field": q.lit(field_label(field)), "value": q.col(field)})]

    return python, sql


def _too_high(row, field):
    top = row.engine.max_amount
    value = row.amount(field)
    return {"field": field_label(field), "value": value, "max": top} if value is not None and value > top else None


def _too_high_sql(q, field):
    return [(f"{q.num(field)} > {q.top}",
             {"field": q.lit(field_label(field)), "value": f"{q.num(field)}::text", "max": q.lit(q.top)})]


def _funds(row, _field):
    a = row.amounts
    covered = a["hifp_pay"] + a["maf_pay"]
    return {"fund": a["fund_pay_sumamt"], "sum": covered} if a["fund_pay_sumamt"] < covered else None


def _funds_sql(q, _field):
    covered = f"{q.num('hifp_pay')} + {q.num('maf_pay')}"
    return [(f"{q.num('fund_pay_sumamt')} < {covered}", {"fund": f"{q.num('fund_pay_sumamt')}::text", "sum": f"({covered})::text"})]


def _total(row, _field):
    a = row.amounts
    paid = a["fund_pay_sumamt"] + a["acct_pay"] + a["psn_cash_pay"] + (a["hosp_part_amt"] or Decimal("0.00"))
    return {"total": a["medfee_sumamt"], "sum": paid} if a["medfee_sumamt"] != paid else None


def _total_sql(q, _field):
    paid = (f"({q.num('fund_pay_sumamt')} + {q.num('acct_pay')} + {q.num('psn_cash_pay')} "
            f"+ coalesce({q.num('hosp_part_amt')}, 0))")
    return [(f"{q.num('medfee_sumamt')} <> {paid}", {"total": f"{q.num('medfee_sumamt')}::text", "sum": f"{paid}::text"})]


def _relation(relation: Relation):
    def python(row, _field):
        broken = relation.broken(row.amounts, row.engine.tolerance)
        return None if broken is None else {"total": broken[0], "sum": broken[1]}

    def sql(q, _field):
        condition, total, parts = relation.sql(q)
        return [(condition, {"total": total, "sum": parts})]

    return python, sql


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


_negative = _pattern(NEGATIVE_PATTERN, matches=True)
_not_amount = _pattern(AMOUNT_PATTERN, matches=False)

# The 2207 amount relations (../shared/docs/insurance-platform.md §1c: none is asserted by code the
# document found; confidence Medium, Medium, Low–medium and CONFLICT): warnings until the county
# lists the code in SETTLEMENT_CONFIRMED_RELATIONS. A row without the amounts a relation needs
# (an old HIS file) is not checked against it: nothing is derived.
FUND_ITEMS = ("hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")
RELATIONS = {
    "total_parts": Relation("medfee_sumamt", ("fund_pay_sumamt", "psn_part_amt", "hosp_part_amt"),
                            given=("psn_part_amt", "hosp_part_amt")),
    "personal_share": Relation("psn_part_amt", ("acct_pay", "psn_cash_pay"), given=()),
    "fund_items": Relation("fund_pay_sumamt", FUND_ITEMS, given=("cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay",
                                                                "oth_pay")),
    "mulaid_in_acct": Relation("acct_mulaid_pay", ("acct_pay",), given=(), op="<="),
}
_RELATION_TEXT = {
    "total_parts": _("medfee_sumamt %(total)s is not fund_pay_sumamt + psn_part_amt + hosp_part_amt (%(sum)s): "
                     "total = fund total + personal share + hospital share; check the amounts against the platform's answer."),
    "personal_share": _("psn_part_amt %(total)s is not acct_pay + psn_cash_pay (%(sum)s): the personal share = "
                        "personal account + cash; check the amounts against the platform's answer."),
    "fund_items": _("fund_pay_sumamt %(total)s is not the sum of the fund items hifp_pay + cvlserv_pay + hifes_pay + "
                    "hifmi_pay + hifob_pay + maf_pay + oth_pay (%(sum)s); check the amounts against the platform's answer."),
    "mulaid_in_acct": _("acct_mulaid_pay %(total)s is more than acct_pay (%(sum)s): the mutual-aid payment is part of "
                        "the personal account's; check the amounts against the platform's answer."),
}

RULES: list[Rule] = [
    Rule(
        "missing", _("Missing required fields: %(fields)s. Fill them in and send the row again."),
        python=_missing, sql=_missing_sql, lane=Lane.PATTERN,
    ),
    Rule(
        "too_long",
        _("%(field)s is too long (at most %(max)s characters); check that the column holds the right value."),
        python=lambda row, f: {"field": field_label(f), "max": MAX_LENGTH[f]} if len(row.t[f]) > MAX_LENGTH[f] else None,
        sql=lambda q, f: [(f"length({q.col(f)}) > {MAX_LENGTH[f]}", {"field": q.lit(field_label(f)), "max": q.lit(MAX_LENGTH[f])})],
        lane=Lane.PATTERN, fields=tuple(MAX_LENGTH),
    ),
    Rule(
        "code_unknown",
        _("%(field)s “%(value)s” is not an enabled code of the dictionary %(dictionary)s; use a code of the "
          "platform's dictionary (the county enters its local codes in the admin)."),
        python=_code, sql=_code_sql, lane=Lane.PATTERN, fields=CODED_FIELDS,
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
        "date_format", _("%(field)s “%(value)s” is not a valid date; write it like 1985-06-15."),
        python=_date, sql=_date_sql, lane=Lane.PATTERN, fields=spec.DATE_FIELDS,
    ),
    Rule(
        "number_format", _("%(field)s “%(value)s” is not a number of the platform's form; write it like %(form)s."),
        python=_number, sql=_number_sql, lane=Lane.PATTERN, fields=tuple(NUMBER_PATTERNS),
    ),
    Rule(
        "amount_negative",
        _("%(field)s is negative (%(value)s); amounts cannot be negative — send a reversal to cancel a settlement "
          "(its amounts all negative, as 2208 answers, or all positive)."),
        python=_negative[0], sql=_negative[1], lane=Lane.PATTERN, fields=ALL_AMOUNTS, group="amount text",
        sql_guard=_amount_text_guard,
        constraint=("settlement_amounts_not_negative",
                    "hifp_pay >= 0 AND maf_pay >= 0 AND acct_pay >= 0 AND psn_cash_pay >= 0"),
    ),
    Rule(
        "amount_format", _("%(field)s “%(value)s” is not an amount; write yuan with at most two decimals, like 35.50."),
        python=_not_amount[0], sql=_not_amount[1], lane=Lane.PATTERN, fields=ALL_AMOUNTS, group="amount text",
        sql_guard=_amount_text_guard,
    ),
    Rule(
        "amount_too_high",
        _("%(field)s (%(value)s) is above the upper bound of %(max)s yuan for one settlement; check the "
          "amount (a decimal point may be missing)."),
        python=_too_high, sql=_too_high_sql, lane=Lane.BOUND, fields=BOUNDED_AMOUNTS,
        sql_guard=lambda q: f"greatest({', '.join(q.num(a) for a in BOUNDED_AMOUNTS)}) > {q.top}",
    ),
    Rule(
        "funds_rule", _("fund_pay_sumamt (%(fund)s) is less than hifp_pay + maf_pay (%(sum)s); correct the fund amounts."),
        python=_funds, sql=_funds_sql, lane=Lane.CHECK,
        constraint=("settlement_funds_cover_hifp_maf", "fund_pay_sumamt >= hifp_pay + maf_pay"),
    ),
    Rule(
        "total_rule",
        _("medfee_sumamt (%(total)s) does not equal fund_pay_sumamt + acct_pay + psn_cash_pay + hosp_part_amt "
          "(%(sum)s; hosp_part_amt counts 0 when not given); correct the amounts."),
        python=_total, sql=_total_sql, lane=Lane.CHECK,
        constraint=("settlement_total_adds_up",
                    "medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay + COALESCE(hosp_part_amt, 0.00)"),
    ),
    *(
        Rule(code, _RELATION_TEXT[code], python=_relation(relation)[0], sql=_relation(relation)[1],
             lane=Lane.RELATION, relation=relation)
        for code, relation in RELATIONS.items()
    ),
    Rule(
        "unknown_clinic",
        _("Unknown clinic code fixmedins_code “%(value)s”; use the clinic's platform institution code (H + 11 digits) "
          "or its code in the register."),
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


def lane_relations() -> list:
    """The amount relations as the fast lane checks them (it takes no row breaking one)."""
    return [rule.relation.as_lane() for rule in RULES if rule.relation is not None]


def rule_constraints() -> dict[str, str]:
    """{constraint name: PostgreSQL CHECK expression} of the rules that are database invariants."""
    return dict(rule.constraint for rule in RULES if rule.constraint)
