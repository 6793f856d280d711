"""A payslip line's source as a Chinese sentence, from its `source` dict, component, quantity,
rate and policy version: "应发天数 30 天 / 当月 30 天 × 1,400.00 元（2019年7月1日起的全县政策版本）".

One renderer per component (`explains("fixed_subsidy", ...)` below). A component of the registry
may instead carry its own `explain_source(line, facts)` method returning the sentence (a new
component then needs no entry here). Keys no renderer uses are added as "label: value" with the
Chinese labels of `KEY_LABELS` (a key without a label is shown by its name): never JSON.

Works on a `PayslipLine` (its `policy` selected with its township, so no query per line) or on
anything with the same attributes (`calculation.Line` and a `policy` given)."""

import datetime
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from staffing.payroll import components
from staffing.payroll.money import yuan

Renderer = Callable[["LineFacts"], tuple[str, set]]  # (sentence, source keys it used)

_renderers: dict[str, Renderer] = {}

# Chinese labels (English msgids) of the source keys the components write.
KEY_LABELS = {
    "payable_days": gettext_lazy("payable days"),
    "days_in_month": gettext_lazy("days in month"),
    "employed_from": gettext_lazy("employed from"),
    "employed_until": gettext_lazy("employed until"),
    "unpaid_leave_dates": gettext_lazy("unpaid leave"),
    "dates": gettext_lazy("dates"),
    "facility_id": gettext_lazy("clinic number"),
    "named_visits": gettext_lazy("own visits"),
    "shared_visits": gettext_lazy("shared visits"),
    "clinic_unnamed_visits": gettext_lazy("clinic visits without a practitioner"),
    "share_basis": gettext_lazy("share basis"),
    "share_basis_total": gettext_lazy("share basis of the clinic"),
    "assessment_id": gettext_lazy("assessment number"),
    "period": gettext_lazy("assessment period"),
    "period_start": gettext_lazy("period starts"),
    "score": gettext_lazy("score"),
    "band": gettext_lazy("band"),
    "scheme": gettext_lazy("social-insurance scheme"),
    "one_off_item_id": gettext_lazy("one-off item number"),
    "correction_of": gettext_lazy("correction of"),
    "paid": gettext_lazy("paid then"),
    "now": gettext_lazy("due now"),
    "now_source": gettext_lazy("now based on"),
    "cumulative_income": gettext_lazy("cumulative income"),
    "months": gettext_lazy("months employed this year"),
    "basic_deduction": gettext_lazy("basic deduction"),
    "social_insurance": gettext_lazy("cumulative social insurance"),
    "cumulative_taxable": gettext_lazy("cumulative taxable income"),
    "rate": gettext_lazy("tax rate"),
    "quick_deduction": gettext_lazy("quick deduction"),
    "cumulative_tax": gettext_lazy("cumulative tax"),
    "withheld_before": gettext_lazy("withheld earlier this year"),
    "in_force_from": gettext_lazy("in force from"),
    "in_force_until": gettext_lazy("in force until"),
    "monthly_amount": gettext_lazy("monthly amount"),
    "share_of_month": gettext_lazy("share of the month"),
    "contracts": gettext_lazy("contracted residents"),
    "fee_per_contract": gettext_lazy("fee per contract a year"),
    "service_year": gettext_lazy("service year"),
    "register_id": gettext_lazy("contract register number"),
}
# Keys whose values are amounts in yuan (shown as 1,400.00).
MONEY_KEYS = {"monthly_amount", "fee_per_contract", "paid", "now", "cumulative_income", "basic_deduction", "social_insurance", "cumulative_taxable", "quick_deduction",
              "cumulative_tax", "withheld_before"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_MONTH = re.compile(r"^\d{4}-\d{2}$")


class LineFacts:
    """What a renderer reads of a line."""

    def __init__(self, *, component: str, quantity, rate, amount, source: Mapping | None, policy=None, kind: str = ""):
        self.component = component
        self.quantity = Decimal(quantity) if quantity is not None else Decimal(0)
        self.rate = Decimal(rate) if rate is not None else Decimal(0)
        self.amount = Decimal(amount) if amount is not None else Decimal(0)
        self.source = dict(source) if isinstance(source, Mapping) else ({} if source in (None, "") else {"value": source})
        self.policy = policy
        self.kind = kind

    @classmethod
    def of(cls, line, policy=None) -> "LineFacts":
        if policy is None and getattr(line, "policy_id", None):
            policy = line.policy
        return cls(component=line.component, quantity=line.quantity, rate=line.rate, amount=line.amount, source=line.source,
                   policy=policy, kind=getattr(line, "kind", ""))


def explains(*codes: str):
    """Decorator: the renderer of these components' lines."""

    def decorate(func: Renderer) -> Renderer:
        for code in codes:
            _renderers[code] = func
        return func

    return decorate


# --- Small pieces -----------------------------------------------------------------------------


def number(value) -> str:
    """A quantity or rate without trailing zeros (30, 0.105, 45.1613)."""
    try:
        value = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    text = f"{value.normalize():f}"
    return text


def day(value) -> str:
    """"2026-10-03" as 10月3日 (the site's month-day format)."""
    try:
        return date_format(datetime.date.fromisoformat(str(value)), "MONTH_DAY_FORMAT")
    except ValueError:
        return str(value)


def full_date(value) -> str:
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            return value
    return date_format(value, "DATE_FORMAT")


def month_label(value) -> str:
    """"2026-10" (or a date) as 2026年10月."""
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(f"{value}-01" if ISO_MONTH.match(value) else value)
        except ValueError:
            return value
    return date_format(value, "YEAR_MONTH_FORMAT")


def days_list(dates, limit: int = 12) -> str:
    dates = list(dates or [])
    shown = "、".join(day(d) for d in dates[:limit])
    if len(dates) > limit:
        shown += _(" and %(n)d more") % {"n": len(dates) - limit}
    return shown


def policy_phrase(policy) -> str:
    """"（2019年7月1日起的全县政策版本）", or "" without a policy."""
    if policy is None:
        return ""
    where = policy.township.name if getattr(policy, "township_id", None) else _("county-wide")
    return _("(policy version in force from %(date)s, %(where)s)") % {"date": full_date(policy.effective_from), "where": where}


def value_text(key: str, value) -> str:
    """One source value, readable: amounts as 1,400.00, dates as 10月3日, lists joined with 、,
    mappings as "label: value；…"."""
    if isinstance(value, Mapping):
        return describe_mapping(value)
    if isinstance(value, list | tuple):
        return "、".join(value_text(key, v) for v in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key in MONEY_KEYS:
        try:
            return yuan(Decimal(str(value))) + _(" yuan")
        except (InvalidOperation, ValueError):
            return str(value)
    if isinstance(value, str) and ISO_DATE.match(value):
        return full_date(value)
    if value is None or value == "":
        return "—"
    return str(value)


def key_label(key: str) -> str:
    label = KEY_LABELS.get(key)
    return str(label) if label is not None else str(key).replace("_", " ")


def describe_mapping(data: Mapping, *, skip=()) -> str:
    """Every key not in `skip` as "label：value", joined with "；"."""
    return "；".join(f"{key_label(k)}：{value_text(k, v)}" for k, v in data.items() if k not in skip)


# --- The renderers ----------------------------------------------------------------------------


@explains("fixed_subsidy", "public_health", "essential_medicines")
def _monthly(facts: LineFacts) -> tuple[str, set]:
    s = facts.source
    if "payable_days" not in s:
        return _quantity_rate(facts), set()
    days, total = s["payable_days"], s.get("days_in_month", "?")
    if facts.quantity == 1 and str(days) == str(total):
        text = _("Payable days %(days)s / %(total)s days in the month × %(rate)s yuan") % {
            "days": days, "total": total, "rate": yuan(facts.rate)}
    else:
        text = _("Payable days %(days)s / %(total)s days in the month: %(days)s days × %(rate)s yuan a day") % {
            "days": days, "total": total, "rate": number(facts.rate)}
    used = {"payable_days", "days_in_month"}
    if "employed_from" in s and "employed_until" in s:
        text += _("; employed %(start)s to %(end)s") % {"start": day(s["employed_from"]), "end": day(s["employed_until"])}
        used |= {"employed_from", "employed_until"}
    if s.get("unpaid_leave_dates"):
        text += _("; unpaid leave on %(dates)s") % {"dates": days_list(s["unpaid_leave_dates"])}
    used.add("unpaid_leave_dates")
    return text, used


@explains("contract_service_fee")
def _contract_fee(facts: LineFacts) -> tuple[str, set]:
    """签约服务费: contracts × the fee a year, monthly (÷ 12, by days in force when a version
    starts mid-month) or by the year's assessment score; then how the fee is funded."""
    from staffing.payroll.models import FundingSource

    s = facts.source
    values = {"contracts": s.get("contracts", number(facts.quantity)), "fee": yuan(s.get("fee_per_contract", facts.rate)),
              "year": s.get("service_year", "")}
    if s.get("payment") == "by_assessment":
        text = _("%(year)s: %(contracts)s contracted residents × %(fee)s yuan a contract × assessment score %(score)s %%") % {
            **values, "score": number(s.get("score", ""))}
    else:
        text = _("%(contracts)s contracted residents × %(fee)s yuan a contract a year ÷ 12 months") % values
        if "payable_days" in s:
            text += _(", %(days)s of %(total)s days (%(start)s to %(end)s)") % {
                "days": s["payable_days"], "total": s.get("days_in_month", "?"),
                "start": day(s["in_force_from"]) if s.get("in_force_from") else "", "end": day(s["in_force_until"]) if s.get("in_force_until") else ""}
    shares = s.get("shares") or {}
    if shares:
        labels = dict(FundingSource.choices)
        text += _("; funded %(shares)s") % {"shares": "、".join(f"{labels.get(k, k)} {number(v)}%" for k, v in shares.items())}
    return text, {"contracts", "fee_per_contract", "service_year", "payment", "score", "payable_days", "days_in_month", "in_force_from",
                  "in_force_until", "shares", "months", "register_id"}


@explains("duty_weekend", "duty_holiday")
def _on_call(facts: LineFacts) -> tuple[str, set]:
    dates = facts.source.get("dates") or []
    text = _("%(count)s on-call days on the published roster (%(dates)s) × %(rate)s yuan a day") % {
        "count": number(facts.quantity), "dates": days_list(dates), "rate": yuan(facts.rate)}
    return text, {"dates"}


@explains("consultation_fee")
def _consultation(facts: LineFacts) -> tuple[str, set]:
    s = facts.source
    if "named_visits" not in s:
        return _quantity_rate(facts, unit=_(" visits")), set()
    text = _("%(own)s own insured visits + %(shared)s shared of the clinic's %(unnamed)s visits without a practitioner "
             "(by %(basis)s of %(basis_total)s duty days) × %(rate)s yuan a visit") % {
        "own": s.get("named_visits", 0), "shared": s.get("shared_visits", 0), "unnamed": s.get("clinic_unnamed_visits", 0),
        "basis": s.get("share_basis", "—"), "basis_total": s.get("share_basis_total", "—"), "rate": yuan(facts.rate)}
    return text, {"facility_id", "named_visits", "shared_visits", "clinic_unnamed_visits", "share_basis", "share_basis_total"}


@explains("performance")
def _performance(facts: LineFacts) -> tuple[str, set]:
    s = facts.source
    if "score" not in s:
        return _quantity_rate(facts), set()
    if s.get("period") == "quarter":
        period = _("quarterly assessment from %(month)s") % {"month": month_label(str(s.get("period_start", ""))[:7])}
    else:
        period = _("monthly assessment of %(month)s") % {"month": month_label(str(s.get("period_start", ""))[:7])}
    text = _("Score %(score)s in the %(band)s band (%(period)s): %(months)s months × %(rate)s yuan") % {
        "score": number(s["score"]), "band": s.get("band", "—"), "period": period, "months": number(facts.quantity),
        "rate": yuan(facts.rate)}
    return text, {"assessment_id", "period", "period_start", "score", "band"}


@explains("social_insurance")
def _social_insurance(facts: LineFacts) -> tuple[str, set]:
    if facts.quantity == 1:
        text = _("Flat contribution %(amount)s yuan a month") % {"amount": yuan(facts.rate)}
    else:
        percent = number((facts.rate * 100).quantize(Decimal("0.01")))
        text = _("Contribution base %(base)s yuan × employee rate %(rate)s%%") % {"base": yuan(facts.quantity), "rate": percent}
    if facts.source.get("scheme"):
        text += _(" (scheme %(scheme)s)") % {"scheme": facts.source["scheme"]}
    return text, {"scheme"}


@explains("income_tax")
def _income_tax(facts: LineFacts) -> tuple[str, set]:
    s = facts.source
    if "cumulative_taxable" not in s:
        return _quantity_rate(facts), set()
    try:
        percent = number(Decimal(str(s.get("rate", "0"))) * 100)
    except InvalidOperation:
        percent = str(s.get("rate"))
    text = _("Cumulative income %(income)s − basic deduction %(basic)s (%(months)s months) − social insurance %(insurance)s "
             "= cumulative taxable %(taxable)s; at %(rate)s%% less quick deduction %(quick)s the year's tax is %(tax)s, "
             "less %(before)s withheld earlier = %(amount)s yuan this month") % {
        "income": yuan(s.get("cumulative_income", 0)), "basic": yuan(s.get("basic_deduction", 0)), "months": s.get("months", "—"),
        "insurance": yuan(s.get("social_insurance", 0)), "taxable": yuan(s.get("cumulative_taxable", 0)), "rate": percent,
        "quick": yuan(s.get("quick_deduction", 0)), "tax": yuan(s.get("cumulative_tax", 0)), "before": yuan(s.get("withheld_before", 0)),
        "amount": yuan(facts.amount)}
    return text, set(s)


@explains("bonus", "back_pay", "one_off_deduction")
def _one_off(facts: LineFacts) -> tuple[str, set]:
    if "one_off_item_id" in facts.source:
        return _("Entered as one-off item no. %(id)s: %(amount)s yuan") % {
            "id": facts.source["one_off_item_id"], "amount": yuan(facts.amount)}, {"one_off_item_id"}
    return _quantity_rate(facts), set()


def rate_text(rate) -> str:
    """A rate as money when it is whole fen (1,400.00), else with its own decimals (1.6667): a
    rate rounded to the fen would not multiply out to the line's amount."""
    rate = Decimal(rate)
    return yuan(rate) if rate == rate.quantize(Decimal("0.01")) else number(rate)


def _quantity_rate(facts: LineFacts, unit: str = "") -> str:
    if facts.quantity == 1:
        return _("%(amount)s yuan") % {"amount": yuan(facts.rate)}
    return _("%(quantity)s%(unit)s × %(rate)s yuan") % {"quantity": number(facts.quantity), "unit": unit, "rate": rate_text(facts.rate)}


def _correction(facts: LineFacts) -> tuple[str, set]:
    s = facts.source
    diff = Decimal(0)
    try:
        diff = Decimal(str(s.get("now", 0))) - Decimal(str(s.get("paid", 0)))
    except InvalidOperation:
        pass
    text = _("Correction of %(month)s: paid %(paid)s yuan then, %(now)s yuan due now, difference %(diff)s yuan") % {
        "month": month_label(str(s["correction_of"])), "paid": yuan(s.get("paid", 0)), "now": yuan(s.get("now", 0)),
        "diff": ("+" if diff > 0 else "") + yuan(diff)}
    now_source = s.get("now_source")
    if isinstance(now_source, Mapping) and now_source:
        inner = line_sentence_from(LineFacts(component=facts.component, quantity=1, rate=0, amount=0, source=now_source), policy=False)
        text += _("; now based on: %(basis)s") % {"basis": inner}
    return text, {"correction_of", "paid", "now", "now_source"}


def _renderer_for(code: str) -> Renderer | None:
    components.discover()
    try:
        item = components.component(code)
    except KeyError:
        item = None
    own = getattr(item, "explain_source", None)
    if own is not None:
        return lambda facts: (own(facts), set(facts.source))
    return _renderers.get(code)


def line_sentence_from(facts: LineFacts, *, policy=True) -> str:
    if "correction_of" in facts.source:
        text, used = _correction(facts)
    else:
        renderer = _renderer_for(facts.component)
        text, used = renderer(facts) if renderer else (_quantity_rate(facts), set())
    rest = {k: v for k, v in facts.source.items() if k not in used}
    if rest:
        text += "；" + describe_mapping(rest)
    if policy and facts.policy is not None:
        text += policy_phrase(facts.policy)
    return text


def line_sentence(line, policy=None) -> str:
    """The Chinese sentence of a payslip line's source (see the module docstring)."""
    return line_sentence_from(LineFacts.of(line, policy))
