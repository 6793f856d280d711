"""Writes to the contract register: the county's list imported (all or nothing, reach-checked
row by row, audited per register entry) and the year's assessment score recorded."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.tabular import upload_limit
from staffing.payroll.contracts.importing import ContractPlan, contracts_import_plan
from staffing.payroll.contracts.models import ContractRegister, ResidentContract
from staffing.payroll.services.inputs import _month_locked, correction_window, doctor_township_in
from staffing.reach import require_doctor_reach


@dataclass
class ContractImportReport:
    created: int = 0  # register entries new
    updated: int = 0  # entries whose contracts the file replaced
    contracts: int = 0  # resident contracts saved
    errors: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@transaction.atomic
def contracts_import(*, upload, filename: str, acting_user) -> ContractImportReport:
    """Import the county's contract list (see `importing`): every row checked first; any wrong
    row and nothing is saved. Raises core.tabular.TableError for a file that cannot be read."""
    data = upload.read(upload_limit("UPLOAD_MAX_BYTES") + 1) if hasattr(upload, "read") else upload
    plan: ContractPlan = contracts_import_plan(upload=data, filename=filename, acting_user=acting_user)
    report = ContractImportReport(errors=list(plan.errors))
    if not plan.ok:
        return report
    groups = plan.by_register()
    existing = {(r.doctor_id, r.service_year): r for r in ContractRegister.objects.select_for_update().filter(
        doctor_id__in={k[0] for k in groups}, service_year__in={k[1] for k in groups})}
    now = timezone.now()
    author = acting_user if getattr(acting_user, "is_authenticated", False) else None
    windows = {}
    # Every replaced register's contracts go first: a resident moving between two doctors of the
    # same file would otherwise meet his old contract (one contract per resident and year).
    ResidentContract.objects.filter(register__in=list(existing.values())).delete()
    for (doctor_id, year), rows in sorted(groups.items()):
        doctor = rows[0].doctor
        require_doctor_reach(acting_user, doctor, field=None)  # checked per row already; again under the transaction
        households = {r.household for r in rows if r.household}
        register = existing.get((doctor_id, year))
        before = register.residents if register else None
        if register is None:
            register = ContractRegister(doctor=doctor, service_year=year, residents=len(rows))
            report.created += 1
        else:
            report.updated += 1
        register.residents = len(rows)
        register.households = len(households) if households else None
        register.source = filename[-200:]
        register.imported_at, register.imported_by = now, author
        register.full_clean(validate_unique=False)
        register.save()
        ResidentContract.objects.bulk_create(
            ResidentContract(register=register, service_year=year, resident_key=r.resident_key, resident_id_masked=r.resident_id_masked,
                             resident_name_masked=r.resident_name_masked, signed_on=r.signed_on, package=r.package, household=r.household,
                             row_number=r.number)
            for r in rows
        )
        report.contracts += len(rows)
        audit_record(actor=acting_user, action="contracts.import", target=register,
                     changes={"residents": [before, register.residents], "households": register.households, "source": register.source})
        if before is not None and before != register.residents:
            township_id = doctor_township_in(doctor, timezone.localdate().replace(day=1))
            window = windows.setdefault(township_id, correction_window(township_id))
            if window.first is not None and window.first > datetime.date(year, 1, 1):
                report.notes.append(
                    _("%(doctor)s %(year)d: the count changed from %(before)d to %(after)d; runs from %(first)s on are corrected, "
                      "earlier approved months of the year keep what they paid (outside the correction window).")
                    % {"doctor": doctor, "year": year, "before": before, "after": register.residents, "first": f"{window.first:%Y-%m}"})
    return report


def _score(value) -> Decimal:
    try:
        score = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"assessment_score": _("A score is a number between 0 and 100.")}) from exc
    if not Decimal(0) <= score <= Decimal(100):
        raise ValidationError({"assessment_score": _("A score is between 0 and 100.")})
    return score


@transaction.atomic
def contract_assessment_record(*, register: ContractRegister, score, acting_user) -> ContractRegister:
    """Record (or correct) a service year's assessment score. The first recording fixes the month
    that pays the fee by assessment: the next run of the doctor's area. A correction after that
    run is approved is paid by the next run as a correction, inside the correction window only."""
    register = ContractRegister.objects.select_for_update().select_related("doctor").get(pk=register.pk)
    require_doctor_reach(acting_user, register.doctor, field=None)
    score = _score(score)
    before = {"assessment_score": register.assessment_score, "assessment_paid_month": register.assessment_paid_month}
    township_id = doctor_township_in(register.doctor, register.assessment_paid_month or timezone.localdate().replace(day=1))
    window = correction_window(township_id)
    if register.assessment_paid_month is None:
        register.assessment_paid_month = window.next_run or timezone.localdate().replace(day=1)
    elif _month_locked(register.assessment_paid_month, township_id):
        month = register.assessment_paid_month
        if window.first is None or month < window.first:
            raise ValidationError({"assessment_score": ValidationError(
                _("The %(year)d contract fee was paid by assessment in the %(month)s run, which is outside the correction window "
                  "(the next run, %(next)s, corrects %(first)s to %(last)s): pay a difference as back pay or a deduction instead.")
                % {"year": register.service_year, "month": f"{month:%Y-%m}", "next": f"{window.next_run:%Y-%m}",
                   "first": f"{window.first:%Y-%m}" if window.first else "—", "last": f"{window.last:%Y-%m}" if window.last else "—"},
                code="outside_correction_window")})
    register.assessment_score = score
    register.assessment_recorded_at = timezone.now()
    register.full_clean(validate_unique=False)
    register.save(update_fields=["assessment_score", "assessment_recorded_at", "assessment_paid_month"])
    audit_record(actor=acting_user, action="contracts.assessment", target=register,
                 changes={"assessment_score": [before["assessment_score"], score],
                          "assessment_paid_month": [before["assessment_paid_month"], register.assessment_paid_month]})
    return register


__all__ = ["ContractImportReport", "contract_assessment_record", "contracts_import"]
