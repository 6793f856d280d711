"""Writes for bank files: building a month's (or a run's) files and control sheet, marking a
payslip paid outside the file (and undoing it), saving formats and paying banks. Every write
checks reach and is audited (`core.audit`)."""

import dataclasses
import datetime
import io
import re
import zipfile
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.scoping import facility_in_reach, require_county_wide
from core.audit import audit_record, snapshot
from staffing.payroll.bankfiles import accounts, checks, control, selectors
from staffing.payroll.bankfiles.formats import format_problems
from staffing.payroll.bankfiles.render import BankFileError, RenderedFile, Spec, render_files
from staffing.payroll.models import BankFileFormat, PayingBank, PaymentOutsideFile, PayRun, Payslip

ZIP_CONTENT_TYPE = "application/zip"
SAFE_NAME_RE = re.compile(r"[^\w\u4e00-\u9fff.-]+")


@dataclasses.dataclass(frozen=True)
class BankExport:
    month: datetime.date
    files: tuple  # RenderedFile, every bank's
    control_name: str
    control: bytes

    def members(self) -> list[tuple[str, bytes]]:
        return [(f.name, f.content) for f in self.files] + [(self.control_name, self.control)]

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in self.members():
                archive.writestr(name, content)
        return buffer.getvalue()

    @property
    def zip_name(self) -> str:
        return f"bank-files-{self.month:%Y-%m}.zip"


def _safe(text: str) -> str:
    return SAFE_NAME_RE.sub("_", text).strip("_") or "bank"


def _refuse_unpayable(payments: selectors.RunPayments, banks: dict) -> None:
    """The approval's checks again, on what the files would pay now (an approved run's accounts
    are frozen, but a paying bank may have lost its format since)."""
    found = []
    for bank_name, payees in payments.by_bank.items():
        bank = banks.get(bank_name)
        for payee in payees:
            problem = accounts.account_problem(payee.account)
            if problem or bank is None or bank.file_format_id is None:
                found.append(_("%(doctor)s (%(clinic)s) at “%(bank)s”") % {"doctor": payee.name, "clinic": payee.clinic, "bank": bank_name or "—"})
    if found:
        more = _(" and %(n)d more") % {"n": len(found) - 10} if len(found) > 10 else ""
        raise BankFileError(
            _("The bank files cannot pay %(items)s%(more)s: an account no bank can pay, or a bank without a file format. "
              "Correct the paying bank's format, or pay them outside the file in a later run.") % {"items": "、".join(found[:10]), "more": more}
        )


def bank_export_build(*, runs: list[PayRun], acting_user, today: datetime.date | None = None) -> BankExport:
    """Every paying bank's files for these approved or paid runs (one month), and the control
    sheet. Refuses (BankFileError, in Chinese) a run that is not approved, a payee the bank
    cannot be paid (the same checks as approval), a value a format cannot hold; the totals of the
    files are checked against the runs' net totals before anything is handed out. Audited."""
    runs = list(runs)
    if not runs:
        raise BankFileError(_("There is no approved pay run to write bank files for."))
    months = {run.month for run in runs}
    if len(months) != 1:
        raise BankFileError(_("Bank files are written for one month at a time."))
    month = months.pop()
    for run in runs:
        if run.status not in selectors.EXPORTABLE:
            raise BankFileError(_("The %(run)s run is %(status)s: bank files are written only for approved or paid runs.")
                                % {"run": run, "status": run.get_status_display()})
    today = today or timezone.localdate()
    banks = selectors.paying_banks()
    payments = selectors.run_payments(runs, banks)
    _refuse_unpayable(payments, banks)
    groups, files = [], []
    for bank_name in sorted(payments.by_bank):
        bank = banks[bank_name]
        spec = Spec.of(bank.file_format)
        stem = f"{month:%Y-%m}_{_safe(bank.file_format.code)}_{_safe(bank_name)}"
        rendered = render_files(spec, payments.by_bank[bank_name], stem=stem, month=month, today=today)
        groups.append((bank_name, bank.file_format.name, rendered))
        files.extend(rendered)
    names = [f.name for f in files]
    clashing = sorted({n for n in names if names.count(n) > 1})
    if clashing:
        raise BankFileError(
            _("Two paying banks give the same file name (%(names)s): rename one of them in 代发银行 so each bank's file is kept.")
            % {"names": "、".join(clashing)}
        )
    reconciliation = _reconcile(runs, files, payments)
    control_bytes = control.control_sheet(month=month, runs=runs, groups=groups, payments=payments, reconciliation=reconciliation)
    for run, _net, by_file, outside, _not_paid in reconciliation:
        audit_record(actor=acting_user, action="payrun.export.bank_files", target=run,
                     changes={"records": sum(1 for f in files for p in f.payees if p.run_id == run.pk), "by_file": by_file,
                              "outside_file": outside, "files": [f.name for f in files]})
    name = _("bank-file-control-%(month)s") % {"month": f"{month:%Y-%m}"}
    return BankExport(month=month, files=tuple(files), control_name=f"{_safe(name)}.xlsx", control=control_bytes)


def _reconcile(runs, files: list[RenderedFile], payments) -> list[tuple]:
    """Per run: its stored net total against paid by file + outside + not paid; refuses a
    difference (the files would pay a different sum than the approved run)."""
    zero = Decimal("0")
    rows = []
    for run in runs:
        by_file = sum((p.amount for f in files for p in f.payees if p.run_id == run.pk), zero)
        outside = sum((o["net"] for o in payments.outside if o["run_id"] == run.pk), zero)
        not_paid = sum((o["net"] for o in payments.not_paid if o["run_id"] == run.pk), zero)
        if by_file + outside + not_paid != run.net_total:
            raise BankFileError(
                _("The %(run)s run's net total %(total)s differs from its bank files (%(by_file)s), payments outside them "
                  "(%(outside)s) and unpaid payslips (%(not_paid)s): nothing is written.")
                % {"run": run, "total": run.net_total, "by_file": by_file, "outside": outside, "not_paid": not_paid}
            )
        rows.append((run, run.net_total, by_file, outside, not_paid))
    return rows


# --- Payments outside the file ---------------------------------------------------------------------


def _require_run_open(run: PayRun) -> None:
    if run.status != PayRun.Status.CALCULATED:
        raise ValidationError(_("Only a calculated run's payslips can be marked or unmarked as paid outside the bank file; "
                                "the %(run)s run is %(status)s.") % {"run": run, "status": run.get_status_display()})


def _require_run_reach(run: PayRun, user) -> None:
    if user is None:  # the system (a command, an import)
        return
    if not selectors.runs_in_reach(user=user).filter(pk=run.pk).exists():
        raise ValidationError(_("This pay run is outside your reach."))


@transaction.atomic
def payment_outside_file_mark(*, run: PayRun, doctor, reason: str, acting_user) -> PaymentOutsideFile:
    """Record the payroll officer's choice that this doctor's pay in the run is paid outside the
    bank file (the reason is required), so an account the file cannot pay no longer blocks the run."""
    run = PayRun.objects.select_for_update().get(pk=run.pk)
    _require_run_reach(run, acting_user)
    _require_run_open(run)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why this payslip is paid outside the bank file (for example: paid in cash at the township centre)."))
    slip = Payslip.objects.filter(run=run, doctor=doctor).select_related("facility").first()
    if slip is None:
        raise ValidationError(_("%(doctor)s has no payslip in the %(run)s run.") % {"doctor": doctor, "run": run})
    if acting_user is not None and not facility_in_reach(acting_user, slip.facility):
        raise ValidationError(_("This doctor's clinic is outside your reach."))
    mark = PaymentOutsideFile(run=run, doctor=doctor, reason=reason[:200],
                              marked_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
                              marked_at=timezone.now())
    try:
        with transaction.atomic():
            mark.full_clean()
            mark.save()
    except IntegrityError:
        raise ValidationError(_("This doctor's pay in this run is already marked paid outside the bank file.")) from None
    audit_record(actor=acting_user, action="payslip.paid_outside_file", target=slip,
                 changes={"run": run.pk, "doctor": doctor.pk, "net": slip.net}, reason=reason)
    checks.refresh_bank_file_warnings(run=run)
    return mark


@transaction.atomic
def payment_outside_file_unmark(*, mark: PaymentOutsideFile, acting_user) -> None:
    run = PayRun.objects.select_for_update().get(pk=mark.run_id)
    _require_run_reach(run, acting_user)
    _require_run_open(run)
    slip = Payslip.objects.filter(run=run, doctor_id=mark.doctor_id).select_related("facility").first()
    if slip is not None and acting_user is not None and not facility_in_reach(acting_user, slip.facility):
        raise ValidationError(_("This doctor's clinic is outside your reach."))
    target = slip or run
    audit_record(actor=acting_user, action="payslip.paid_outside_file_undo", target=target,
                 changes={"run": run.pk, "doctor": mark.doctor_id, "reason": mark.reason})
    mark.delete()
    checks.refresh_bank_file_warnings(run=run)


# --- Formats and paying banks -----------------------------------------------------------------------

FORMAT_FIELDS = ["code", "name", "file_type", "encoding", "line_ending", "delimiter", "quote_char", "title_row", "sheet_name",
                 "first_data_row", "amount_unit", "amount_decimals", "max_records", "file_extension"]


@transaction.atomic
def bank_format_save(*, file_format: BankFileFormat, columns, summary_fields, delete=(), acting_user) -> BankFileFormat:
    """Save a format with its columns and header/trailer fields (the rows it will have, `delete`
    the ones removed), refusing one that could not write a file (formats.format_problems)."""
    require_county_wide(acting_user, what=_("bank file formats"))
    columns, summary_fields = list(columns), list(summary_fields)
    problems = format_problems(file_format, columns, summary_fields)
    if problems:
        raise ValidationError(problems)
    created = file_format.pk is None
    before = {} if created else snapshot(BankFileFormat.objects.get(pk=file_format.pk), FORMAT_FIELDS)
    file_format.full_clean()
    file_format.save()
    for item in delete:
        if item.pk:
            item.delete()
    for item in [*columns, *summary_fields]:
        item.file_format = file_format
        item.full_clean(exclude=["file_format"])
        item.save()
    after = snapshot(file_format, FORMAT_FIELDS)
    audit_record(actor=acting_user, action="bankformat.create" if created else "bankformat.update", target=file_format,
                 changes={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
                 | {"columns": [f"{c.position}:{c.field}:{c.width or ''}" for c in columns]})
    checks.refresh_open_runs()
    return file_format


PURPOSE_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


@transaction.atomic
def paying_bank_save(*, bank: PayingBank, acting_user) -> PayingBank:
    require_county_wide(acting_user, what=_("paying banks"))
    bank.bank_name = (bank.bank_name or "").strip()
    unknown = [p for p in PURPOSE_PLACEHOLDER_RE.findall(bank.purpose or "") if p not in ("year", "month")]
    if unknown:
        raise ValidationError(_("The purpose may use only {year} and {month}; remove {%(name)s}.") % {"name": unknown[0]})
    created = bank.pk is None
    before = {} if created else snapshot(PayingBank.objects.get(pk=bank.pk), ["bank_name", "file_format", "branch_code", "purpose"])
    bank.full_clean()
    bank.save()
    after = snapshot(bank, ["bank_name", "file_format", "branch_code", "purpose"])
    audit_record(actor=acting_user, action="payingbank.create" if created else "payingbank.update", target=bank,
                 changes={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v})
    checks.refresh_open_runs()
    return bank
