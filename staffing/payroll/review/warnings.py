"""The kinds of pay-run warnings, and the one place a warning becomes a Chinese sentence.

A warning is stored as a dict on `PayRun.warnings` (about the run) or `Payslip.warnings` (about
one doctor): `{"code": "...", "params": {...}}`, optionally with a ready `"message"` (the
calculation writes its text in the site language). The sentence is the kind's `sentence` filled
with `params` when they fit, else the stored message, else the kind's label; a code no kind is
registered for still reads as its label and its params as "label：value" — never JSON.

Adding a warning kind is one entry, in the module that raises the warning:

    from staffing.payroll.review.warnings import BLOCKING, register_warning

    register_warning(
        "invalid_bank_account",
        label=_("Bank account not valid"),                       # English msgid: Chinese in your i18n json
        sentence=_("The account %(account)s at %(bank)s fails its check digit."),  # %-format of params
        severity=BLOCKING,                                         # INFO, WARNING or BLOCKING
    )

and the warning itself: `pay.warnings.append({"code": "invalid_bank_account", "params": {"account": "****1234", "bank": "农业银行"}})`
(amount params — Decimal, or a str when stored — are shown as 1,400.00 when their name ends in
`amount`, `gross`, `net`, `minimum` or `total`). A kind whose severity is BLOCKING refuses the
run's approval (`payrun_approve`) until the warning is gone, naming the doctors; other kinds
need the approver's acknowledgement. Nothing else changes: the review page groups by kind,
counts, links each doctor, clinic and payslip (`staffing.payroll.review.grouping`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from staffing.payroll.money import yuan

INFO = "info"
WARNING = "warning"
BLOCKING = "blocking"
SEVERITIES = (BLOCKING, WARNING, INFO)  # most serious first: the order of the groups
MONEY_SUFFIXES = ("amount", "gross", "net", "minimum", "total")


@dataclass(frozen=True)
class WarningKind:
    code: str
    label: str
    sentence: str | None = None
    severity: str = WARNING

    @property
    def blocks_approval(self) -> bool:
        return self.severity == BLOCKING


_kinds: dict[str, WarningKind] = {}


def register_warning(code: str, *, label, sentence=None, severity: str = WARNING) -> WarningKind:
    """Declare a kind of warning (see the module docstring). Registering a code again replaces it."""
    if severity not in SEVERITIES:
        raise ValueError(f"warning kind {code}: unknown severity {severity!r}")
    if not code or len(code) > 60:
        raise ValueError(f"warning kind code {code!r} must be 1 to 60 characters")
    kind = WarningKind(code=code, label=label, sentence=sentence, severity=severity)
    _kinds[code] = kind
    return kind


def unregister_warning(code: str) -> None:
    _kinds.pop(code, None)


def warning_kind(code) -> WarningKind:
    """The registered kind, or a readable stand-in for a code no one registered."""
    _discover()
    found = _kinds.get(code)
    if found is not None:
        return found
    return WarningKind(code=str(code or ""), label=_("Other warning (%(code)s)") % {"code": code or "—"}, severity=WARNING)


def warning_kinds() -> list[WarningKind]:
    _discover()
    return sorted(_kinds.values(), key=lambda k: (SEVERITIES.index(k.severity), k.code))


def _discover() -> None:
    """Warnings are raised by the pay components (and the modules they import): load them, so
    each registers the kinds it raises."""
    from staffing.payroll import components

    components.discover()


def _param_text(name: str, value) -> str:
    if isinstance(value, Decimal) or (isinstance(value, str | int) and name.endswith(MONEY_SUFFIXES)):
        try:
            return yuan(Decimal(str(value)))
        except (InvalidOperation, ValueError):
            return str(value)
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def warning_sentence(warning) -> str:
    """A stored warning (dict) as one Chinese sentence."""
    if not isinstance(warning, Mapping):
        return str(warning)
    kind = warning_kind(warning.get("code"))
    params = warning.get("params")
    params = params if isinstance(params, Mapping) else {}
    if kind.sentence and params:
        try:
            return str(kind.sentence) % {k: _param_text(k, v) for k, v in params.items()}
        except (KeyError, TypeError, ValueError):
            pass  # the params do not fit this kind's sentence: fall back below
    message = warning.get("message")
    if isinstance(message, str) and message.strip():
        return message
    if kind.sentence and not params and "%(" not in str(kind.sentence):
        return str(kind.sentence)
    from staffing.payroll.review.sentences import describe_mapping

    extra = {k: v for k, v in warning.items() if k not in ("code", "message", "params")} | dict(params)
    return f"{kind.label}：{describe_mapping(extra)}" if extra else str(kind.label)


# --- The kinds the calculation raises ---------------------------------------------------------

register_warning(
    "roster_unpublished", label=gettext_lazy("Roster not published"),
    sentence=gettext_lazy("The clinic's roster for %(month)s is not published: no duty allowance."), severity=WARNING,
)
register_warning(
    "no_settlements", label=gettext_lazy("No insurance settlements"),
    sentence=gettext_lazy("No insurance settlements are recorded for %(month)s: consultation fees are 0."), severity=WARNING,
)
register_warning(
    "no_doctors", label=gettext_lazy("No doctor in the run"),
    sentence=gettext_lazy("No doctor is posted to a village clinic in this area during the month."), severity=WARNING,
)
register_warning(
    "below_minimum", label=gettext_lazy("Below the guaranteed minimum"),
    sentence=gettext_lazy("Gross pay %(gross)s is below the guaranteed minimum %(minimum)s for %(days)s payable days."),
    severity=WARNING,
)
register_warning(
    "no_bank_account", label=gettext_lazy("No bank account"),
    sentence=gettext_lazy("No bank or bank account in the register: enter them on the doctor's record before paying."),
    severity=WARNING,
)
register_warning(
    "licence_expired", label=gettext_lazy("Licence expired"),
    sentence=gettext_lazy("The practising licence expired on %(date)s."), severity=WARNING,
)
register_warning("suspended", label=gettext_lazy("Doctor suspended"),
                 sentence=gettext_lazy("The doctor is suspended in the register."), severity=WARNING)
register_warning("negative_net", label=gettext_lazy("Negative net pay"),
                 sentence=gettext_lazy("Deductions exceed pay: net pay is negative."), severity=WARNING)
