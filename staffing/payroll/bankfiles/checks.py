"""What the bank file cannot pay, as warnings on the payslips (the run's one warnings structure,
`staffing.payroll.review.warnings`): an account no bank can pay and a bank without a file
format are BLOCKING kinds (they refuse the run's approval, naming the doctors, until corrected
or marked paid outside the file); a payment marked outside the file is an INFO line that says
who marked it, when and why.

`refresh_bank_file_warnings(run=…)` rewrites these warnings (and only these) on a run's payslips
from the register's snapshot on the payslip, the paying banks and the marks: called when a run is
calculated, before it is approved, and when a mark, a paying bank or a format changes."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from core.validators import mask_account
from staffing.payroll.bankfiles import accounts
from staffing.payroll.models import PayingBank, PaymentOutsideFile, PayRun, Payslip
from staffing.payroll.review.warnings import BLOCKING, INFO, register_warning, warning_sentence

ACCOUNT_CODES = {
    accounts.MISSING: "bank_account_missing",
    accounts.NOT_DIGITS: "bank_account_not_digits",
    accounts.LENGTH: "bank_account_length",
    accounts.CARD_CHECK: "bank_card_check_digit",
}
FORMAT_MISSING = "bank_format_missing"
PAID_OUTSIDE = "paid_outside_file"
CODES = frozenset({*ACCOUNT_CODES.values(), FORMAT_MISSING, PAID_OUTSIDE})
BATCH = 2000

register_warning(
    "bank_account_missing", label=gettext_lazy("No account for the bank file"), severity=BLOCKING,
    sentence=gettext_lazy("No bank account in the register (bank: %(bank)s): the bank file cannot pay this doctor."),
)
register_warning(
    "bank_account_not_digits", label=gettext_lazy("Bank account is not all digits"), severity=BLOCKING,
    sentence=gettext_lazy("The account %(account)s at %(bank)s has characters other than digits (spaces, letters or "
                          "full-width digits): the bank file cannot pay it."),
)
register_warning(
    "bank_account_length", label=gettext_lazy("Bank account of a wrong length"), severity=BLOCKING,
    sentence=gettext_lazy("The account %(account)s at %(bank)s has %(length)s digits; an account has 12 to 30: the bank "
                          "file cannot pay it."),
)
register_warning(
    "bank_card_check_digit", label=gettext_lazy("Bank card check digit wrong"), severity=BLOCKING,
    sentence=gettext_lazy("The card number %(account)s at %(bank)s fails its check digit (Luhn): a digit is mistyped."),
)
register_warning(
    FORMAT_MISSING, label=gettext_lazy("Bank without a bank file format"), severity=BLOCKING,
    sentence=gettext_lazy("Paid at “%(bank)s”, which has no bank file format: assign one under paying banks, or mark the "
                          "payslip paid outside the bank file."),
)
register_warning(
    PAID_OUTSIDE, label=gettext_lazy("Paid outside the bank file"), severity=INFO,
    sentence=gettext_lazy("Paid outside the bank file: %(reason)s (marked by %(by)s on %(at)s)."),
)


def _with_message(warnings: list[dict]) -> list[dict]:
    """Each warning with its sentence in the site language as `message` too (what older readers
    of the warnings structure print)."""
    if not warnings:
        return []
    with translation.override(settings.LANGUAGE_CODE):
        return _messages(warnings)


def _messages(warnings: list[dict]) -> list[dict]:
    """`_with_message` inside the site language already active (once for a run's payslips)."""
    return [dict(w, message=warning_sentence(w)) for w in warnings]


def payslip_bank_warnings(*, bank_name: str, account: str, net, banks: dict, mark: PaymentOutsideFile | None) -> list[dict]:
    """This payslip's bank-file warnings. `banks`: paying bank name → its format id (or None)."""
    return _with_message(_bank_warnings(bank_name=bank_name, account=account, net=net, banks=banks, mark=mark))


def _bank_warnings(*, bank_name: str, account: str, net, banks: dict, mark: PaymentOutsideFile | None) -> list[dict]:
    if mark is not None:
        by = mark.marked_by
        return [{"code": PAID_OUTSIDE, "params": {
            "reason": mark.reason, "by": (by.get_full_name() or by.username) if by else "—",
            "at": f"{timezone.localtime(mark.marked_at):%Y-%m-%d %H:%M}"}}]
    if net <= 0:
        return []  # nothing to transfer: listed on the control sheet, not in a file
    bank = (bank_name or "").strip()
    found = []
    problem = accounts.account_problem(account)
    if problem:
        found.append({"code": ACCOUNT_CODES[problem], "params": {
            "bank": bank or "—", "account": mask_account(account or "") or "—", "length": len((account or "").strip())}})
    if bank and not banks.get(bank):
        found.append({"code": FORMAT_MISSING, "params": {"bank": bank}})
    elif not bank and problem != accounts.MISSING:
        found.append({"code": FORMAT_MISSING, "params": {"bank": "—"}})
    return found


@transaction.atomic
def refresh_bank_file_warnings(*, run: PayRun) -> int:
    """Rewrite the bank-file warnings of a run that is not yet approved; returns the number of
    payslips whose warnings changed. Three queries and one bulk update whatever the run's size."""
    if run.status not in (PayRun.Status.DRAFT, PayRun.Status.CALCULATED):
        return 0
    banks, marks = _banks_and_marks(run)
    changed = []
    rows = Payslip.objects.filter(run=run).order_by().values_list("pk", "doctor_id", "warnings", "bank_name", "bank_account", "net")
    for pk, doctor_id, warnings, bank_name, account, net in rows.iterator(chunk_size=BATCH):
        warnings = warnings or []
        kept = [w for w in warnings if not (isinstance(w, dict) and w.get("code") in CODES)]
        new = kept + payslip_bank_warnings(bank_name=bank_name, account=account, net=net, banks=banks, mark=marks.get(doctor_id))
        if new != warnings:
            changed.append(Payslip(pk=pk, warnings=new))
    Payslip.objects.bulk_update(changed, ["warnings"], batch_size=BATCH)
    return len(changed)


def _banks_and_marks(run: PayRun) -> tuple[dict, dict]:
    banks = {name.strip(): format_id for name, format_id in PayingBank.objects.values_list("bank_name", "file_format_id")}
    marks = {m.doctor_id: m for m in PaymentOutsideFile.objects.filter(run=run).select_related("marked_by")}
    return banks, marks


def bank_file_warnings_by_doctor(*, run: PayRun, payslips) -> dict[int, list[dict]]:
    """The bank-file warnings of payslips about to be written (`payslips`: (doctor id, bank,
    account, net) each), by doctor, as `refresh_bank_file_warnings` would add them: a
    calculation writes its payslips with them rather than reading them back. Two queries."""
    banks, marks = _banks_and_marks(run)
    found = {}
    for doctor_id, bank_name, account, net in payslips:
        warnings = _bank_warnings(bank_name=bank_name, account=account, net=net, banks=banks, mark=marks.get(doctor_id))
        if warnings:
            found[doctor_id] = warnings
    with translation.override(settings.LANGUAGE_CODE):  # once for the run, not once per payslip
        return {doctor_id: _messages(warnings) for doctor_id, warnings in found.items()}


def refresh_open_runs() -> None:
    """After a paying bank or a format changed: every run not yet approved."""
    for run in PayRun.objects.filter(status__in=[PayRun.Status.DRAFT, PayRun.Status.CALCULATED]):
        refresh_bank_file_warnings(run=run)
