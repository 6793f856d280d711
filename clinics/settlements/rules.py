"""The row rules of settlement ingest, in one ordered list that both engines follow: the Python
engine (SQLite) applies them row by row, the PostgreSQL engine compiles them into one SQL CASE.
The first rule a row breaks gives its reason; messages are Chinese and say what to fix."""

import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from clinics.settlements.models import ClearingType, InsuranceType

# Columns of an upload, named as the national platform names them.
FIELDS = [
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "psn_name",
    "certno",
    "insutype",
    "clr_type",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "hifp_pay",
    "maf_pay",
    "acct_pay",
    "psn_cash_pay",
    "setl_time",
    "fixmedins_code",
    "atddr_no",
    "init_setl_id",
]
OPTIONAL = {"certno", "atddr_no", "init_setl_id"}
REQUIRED = [f for f in FIELDS if f not in OPTIONAL]
MAX_LENGTH = {
    "setl_id": 30,
    "mdtrt_id": 30,
    "psn_no": 30,
    "psn_name": 50,
    "certno": 18,
    "atddr_no": 30,
    "init_setl_id": 30,
    "fixmedins_code": 30,
}
# Codes: identifiers of the national platform and the register. An input method's full-width digits
# and letters (１２３, Ｘ) are written as ASCII first (NFKC, `core.validators.normalize_code`),
# on every engine, so one settlement cannot be recorded twice in two spellings; the fast lane takes
# only lines whose codes are ASCII already and hands the others to the SQL engine.
CODE_FIELDS = ["setl_id", "mdtrt_id", "psn_no", "certno", "insutype", "clr_type", "fixmedins_code", "atddr_no",
               "init_setl_id"]
INSUTYPES = [c.value for c in InsuranceType]
CLR_TYPES = [c.value for c in ClearingType]

# Shared by Python and PostgreSQL (POSIX regular expressions without Python-only syntax).
AMOUNT_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
NEGATIVE_PATTERN = r"^-[0-9]{1,10}(\.[0-9]{1,2})?$"
TIME_PATTERN = r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(:([0-9]{2}))?$"
AMOUNT_RE = re.compile(AMOUNT_PATTERN)
NEGATIVE_RE = re.compile(NEGATIVE_PATTERN)
TIME_RE = re.compile(TIME_PATTERN)
CENT = Decimal("0.01")


def max_amount() -> Decimal:
    """The upper bound of each amount of one settlement (setting SETTLEMENT_MAX_AMOUNT, yuan). Checked
    after the amounts' format and before the two amount rules, field by field in AMOUNT_FIELDS
    order, by every engine (the fast lane checks medfee_sumamt only: in a row that keeps both
    amount rules, which the log's CHECKs hold, every other amount is at most medfee_sumamt)."""
    return Decimal(settings.SETTLEMENT_MAX_AMOUNT).quantize(CENT)


@dataclass(frozen=True)
class Messages:
    """Every reason text, translated once per ingest (always in the site language, since the
    reasons are stored for the clerk who corrects the rows)."""

    missing: str
    too_long: str
    insutype: str
    clr_type: str
    time_format: str
    time_future: str
    amount_format: str
    amount_negative: str
    amount_too_high: str
    funds_rule: str
    total_rule: str
    unknown_clinic: str
    clinic_disabled: str
    out_of_scope: str
    repeated_in_batch: str
    conflicts_recorded: str
    reverses_itself: str
    original_missing: str
    original_is_reversal: str
    already_reversed: str
    reversal_other_clinic: str
    reversal_amounts: str

    @classmethod
    def load(cls) -> "Messages":
        return cls(
            missing=_("Missing required fields: %(fields)s. Fill them in and send the row again."),
            too_long=_(
                "%(field)s is too long (at most %(max)s characters); check that the column holds the right value."
            ),
            insutype=_("insutype must be 390 (residents) or 310 (employees), not “%(value)s”."),
            clr_type=_("clr_type must be 11 (outpatient) or 14 (outpatient chronic and special diseases), not “%(value)s”."),
            time_format=_("setl_time “%(value)s” is not a valid date and time; write it like 2026-11-03 09:30:00."),
            time_future=_("setl_time %(value)s lies in the future; check the terminal's clock and the date."),
            amount_format=_("%(field)s “%(value)s” is not an amount; write yuan with at most two decimals, like 35.50."),
            amount_negative=_(
                "%(field)s is negative (%(value)s); amounts cannot be negative — send a reversal to cancel a settlement."
            ),
            amount_too_high=_(
                "%(field)s (%(value)s) is above the upper bound of %(max)s yuan for one settlement; check the "
                "amount (a decimal point may be missing)."
            ),
            funds_rule=_("fund_pay_sumamt (%(fund)s) is less than hifp_pay + maf_pay (%(sum)s); correct the fund amounts."),
            total_rule=_(
                "medfee_sumamt (%(total)s) does not equal fund_pay_sumamt + acct_pay + psn_cash_pay (%(sum)s); "
                "correct the amounts."
            ),
            unknown_clinic=_("Unknown clinic code fixmedins_code “%(value)s”; use the clinic's code from the register."),
            clinic_disabled=_("Clinic %(value)s is not enabled for insurance settlement; ask the county to enable it."),
            out_of_scope=_("This terminal may only upload its own clinic's settlements (%(own)s), not %(value)s's."),
            repeated_in_batch=_("setl_id %(value)s appears earlier in this upload (row %(row)s) with different content."),
            conflicts_recorded=_(
                "setl_id %(value)s is already recorded with different content; a recorded settlement cannot be "
                "changed — send a reversal and a new settlement instead."
            ),
            reverses_itself=_("init_setl_id names the settlement itself; give the setl_id of the original settlement."),
            original_missing=_("The original settlement init_setl_id %(value)s is not recorded; send the original first."),
            original_is_reversal=_("init_setl_id %(value)s is itself a reversal and cannot be reversed."),
            already_reversed=_("The settlement %(value)s has already been reversed."),
            reversal_other_clinic=_("The reversal's clinic differs from the clinic of the original settlement %(value)s."),
            reversal_amounts=_("A reversal must carry the same amounts as the original settlement %(value)s."),
        )

