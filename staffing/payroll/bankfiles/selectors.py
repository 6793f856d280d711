"""Reads for bank files: the runs a user may export, each run's payees grouped by paying bank,
the payments marked outside the file, and the blocking warnings before approval."""

import dataclasses
import datetime

from django.db.models import Prefetch

from core.validators import mask_account
from staffing.models import doctor_label
from staffing.payroll.bankfiles.render import Payee
from staffing.payroll.models import (
    BankFileColumn,
    BankFileFormat,
    BankFileSummaryField,
    PayingBank,
    PaymentOutsideFile,
    PayRun,
    Payslip,
)
from staffing.payroll.selectors import runs_in_reach  # the one rule of which runs a user may export

EXPORTABLE = (PayRun.Status.APPROVED, PayRun.Status.PAID)


def exportable_runs(*, month: datetime.date, user=None, county: bool = False) -> list[PayRun]:
    """The month's approved or paid runs within reach (`county=True`: the operator's command)."""
    queryset = PayRun.objects.select_related("township") if county else runs_in_reach(user=user)
    return list(queryset.filter(month=month.replace(day=1), status__in=EXPORTABLE).order_by("township__code", "pk"))


def paying_banks() -> dict[str, PayingBank]:
    """Paying banks by name, each with its format, columns and summary fields read once."""
    formats = BankFileFormat.objects.prefetch_related(
        Prefetch("columns", queryset=BankFileColumn.objects.order_by("position")),
        Prefetch("summary_fields", queryset=BankFileSummaryField.objects.order_by("part", "position")),
    )
    banks = PayingBank.objects.prefetch_related(Prefetch("file_format", queryset=formats))
    return {bank.bank_name.strip(): bank for bank in banks}


def purpose_text(bank: PayingBank | None, month: datetime.date) -> str:
    template = (bank.purpose if bank else "") or ""
    return template.replace("{year}", str(month.year)).replace("{month}", str(month.month))


@dataclasses.dataclass
class RunPayments:
    """The payslips of some runs, sorted out for the bank files."""

    by_bank: dict  # bank name → [Payee]
    outside: list  # [dict]: payslips marked paid outside the file
    not_paid: list  # [dict]: net pay zero or negative (nothing to transfer)
    runs: list


def _slip_rows(runs):
    return (
        Payslip.objects.filter(run__in=runs)
        .order_by("township__code", "facility__code", "doctor__name", "pk")
        .values_list("pk", "run_id", "doctor_id", "doctor__name", "doctor__is_demo", "doctor__id_number", "facility_id",
                     "facility__name", "bank_name", "bank_account", "net")
    )


def _outside_marks(runs) -> dict:
    marks = PaymentOutsideFile.objects.filter(run__in=runs).select_related("marked_by")
    return {(m.run_id, m.doctor_id): m for m in marks}


def run_payments(runs: list[PayRun], banks: dict | None = None) -> RunPayments:
    banks = paying_banks() if banks is None else banks
    marks = _outside_marks(runs)
    months = {run.pk: run.month for run in runs}
    result = RunPayments(by_bank={}, outside=[], not_paid=[], runs=list(runs))
    for pk, run_id, doctor_id, name, demo, id_number, facility_id, clinic, bank_name, account, net in _slip_rows(runs):
        row = {"payslip_id": pk, "run_id": run_id, "doctor_id": doctor_id, "doctor": doctor_label(name, demo), "clinic": clinic,
               "facility_id": facility_id, "bank_name": bank_name, "account": mask_account(account or ""), "net": net}
        mark = marks.get((run_id, doctor_id))
        if mark is not None:
            by = mark.marked_by
            result.outside.append({**row, "reason": mark.reason, "marked_at": mark.marked_at,
                                   "marked_by": (by.get_full_name() or by.username) if by else ""})
            continue
        if net <= 0:
            result.not_paid.append(row)
            continue
        bank_key = (bank_name or "").strip()
        bank = banks.get(bank_key)
        result.by_bank.setdefault(bank_key, []).append(Payee(
            payslip_id=pk, doctor_id=doctor_id, name=name, clinic=clinic, account=(account or "").strip(), amount=net,
            id_number=id_number or "", bank_name=bank_key, branch_code=(bank.branch_code if bank else "") or "",
            purpose=purpose_text(bank, months[run_id]), run_id=run_id,
        ))
    return result
