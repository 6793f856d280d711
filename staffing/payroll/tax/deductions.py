"""Special additional deductions (专项附加扣除): one row per doctor and month, entered in admin or
imported from the tax client's export, applied by the income-tax component as the year's rows up
to the month (cumulative withholding subtracts year-to-date deductions from year-to-date taxable
income). A row for a month whose run is approved is frozen (as one-off items are), so the payslip,
the calculation and the filing of that month always read the same figures; a deduction reported
late goes into an open month (the tax client's 补扣), where the cumulative method catches up.

Services check the acting user's reach over the doctor (before and after a change), validate, and
audit; the import is all or nothing, every rejected row kept with its row number and reason."""

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import audit_record, snapshot
from core.hashing import keyed_hash
from core.imports import CLEAR, KEEP, empty_cell_rule, import_cell
from core.tabular import TableError, read_table
from core.validators import normalize_code, validate_resident_id
from staffing.models import Doctor
from staffing.payroll.models import PayRun, SpecialDeduction
from staffing.payroll.money import ZERO
from staffing.payroll.services.audited import save_audited
from staffing.reach import require_doctor_reach, scope_doctors

CATEGORIES = SpecialDeduction.CATEGORIES
FIELDS = ["doctor", "month", *CATEGORIES, "source"]

# The filing's cumulative columns, in the order of the tax client's template.
FILING_HEADERS = {
    "children_education": "累计子女教育",
    "continuing_education": "累计继续教育",
    "mortgage_interest": "累计住房贷款利息",
    "housing_rent": "累计住房租金",
    "elderly_care": "累计赡养老人",
    "infant_care": "累计3岁以下婴幼儿照护",
    "personal_pension": "累计个人养老金",
}


def category_label(name: str) -> str:
    return str(SpecialDeduction._meta.get_field(name).verbose_name)


# --- Reads ---------------------------------------------------------------------------------------


def deductions_to_date(*, month: datetime.date, doctor_ids=None) -> dict[int, dict]:
    """Each doctor's deductions by category for `month` and for the tax year up to and including
    it: {doctor_id: {"month": {category: amount}, "ytd": {category: amount}}}. One query."""
    rows = SpecialDeduction.objects.filter(month__gte=month.replace(month=1, day=1), month__lte=month.replace(day=1))
    if doctor_ids is not None:
        rows = rows.filter(doctor_id__in=list(doctor_ids))
    result: dict[int, dict] = defaultdict(lambda: {"month": dict.fromkeys(CATEGORIES, ZERO), "ytd": dict.fromkeys(CATEGORIES, ZERO)})
    for row in rows.values("doctor_id", "month", *CATEGORIES):
        entry = result[row["doctor_id"]]
        for name in CATEGORIES:
            entry["ytd"][name] += row[name]
            if row["month"] == month.replace(day=1):
                entry["month"][name] += row[name]
    return dict(result)


@dataclass
class DeductionRow:
    name: str
    label: str
    month: Decimal
    ytd: Decimal


def payslip_deductions(slip) -> list[DeductionRow]:
    """The payslip's special deductions (its month and the year to date), categories with any
    amount this year; empty when there are none."""
    found = deductions_to_date(month=slip.month, doctor_ids=[slip.doctor_id]).get(slip.doctor_id)
    if not found:
        return []
    return [DeductionRow(name, category_label(name), found["month"][name], found["ytd"][name])
            for name in CATEGORIES if found["ytd"][name]]


def special_deduction_list(*, user):
    """Deduction rows of the doctors in the user's reach (a township admin: the township's)."""
    return scope_doctors(SpecialDeduction.objects.select_related("doctor"), user, doctor_ref="doctor")


# --- Writes --------------------------------------------------------------------------------------


def month_locked(*, month: datetime.date, doctor) -> PayRun | None:
    """The approved (or paid) run of `month` that paid or would pay the doctor, if any."""
    from staffing.selectors import doctor_current_posting

    runs = PayRun.objects.filter(month=month, status__in=[PayRun.Status.APPROVED, PayRun.Status.PAID])
    county = runs.filter(township__isnull=True).first()
    if county:
        return county
    posting = doctor_current_posting(doctor=doctor, day=month)
    return runs.filter(township_id=posting.facility.township_id).first() if posting else None


def locked_message(month: datetime.date) -> str:
    return _("The %(month)s run is already approved, so its deductions are frozen. Enter a late deduction in an open month: "
             "cumulative withholding catches up.") % {"month": f"{month:%Y-%m}"}


@transaction.atomic
def special_deduction_save(*, deduction: SpecialDeduction, acting_user) -> SpecialDeduction:
    """Create or change a month's deductions; refused for a doctor outside the acting user's reach
    (before or after the change) and for a month whose run is approved."""
    previous = SpecialDeduction.objects.select_related("doctor").filter(pk=deduction.pk).first() if deduction.pk else None
    if previous is not None:
        require_doctor_reach(acting_user, previous.doctor)
    if deduction.doctor_id is not None:
        require_doctor_reach(acting_user, deduction.doctor)
    if deduction.month:
        deduction.month = deduction.month.replace(day=1)
    deduction.full_clean()
    for month, doctor in ((previous.month, previous.doctor) if previous else (None, None), (deduction.month, deduction.doctor)):
        if month and month_locked(month=month, doctor=doctor):
            raise ValidationError({"month": locked_message(month)})
    return save_audited(deduction, fields=FIELDS, action="special_deduction", author_field="entered_by", acting_user=acting_user)


@transaction.atomic
def special_deduction_delete(*, deduction: SpecialDeduction, acting_user) -> None:
    current = SpecialDeduction.objects.select_related("doctor").get(pk=deduction.pk)
    require_doctor_reach(acting_user, current.doctor)
    if month_locked(month=current.month, doctor=current.doctor):
        raise ValidationError(locked_message(current.month))
    audit_record(actor=acting_user, action="special_deduction.delete", target=current, changes=snapshot(current, FIELDS))
    current.delete()


# --- Import from the tax client's export --------------------------------------------------------

ID_COLUMN = "证件号码"
NAME_COLUMN = "姓名"
MONTH_COLUMNS = ("所属月份", "月份", "所属期", "扣除月份")
CATEGORY_COLUMNS = {
    "children_education": ("子女教育",),
    "continuing_education": ("继续教育",),
    "mortgage_interest": ("住房贷款利息",),
    "housing_rent": ("住房租金",),
    "elderly_care": ("赡养老人",),
    "infant_care": ("3岁以下婴幼儿照护", "婴幼儿照护"),
    "personal_pension": ("个人养老金",),
}
IMPORT_HELP = gettext_lazy(
    "The tax client's export of special additional deductions, as XLSX or CSV: columns 工号, 姓名, 证件号码, 所属月份 (2026-10) and "
    "the month's amounts 子女教育, 继续教育, 住房贷款利息, 住房租金, 赡养老人, 3岁以下婴幼儿照护, 个人养老金. Doctors are found by ID "
    "number. A row replaces the doctor's deductions for that month. If any row is rejected, nothing is imported."
)
MONTH_RE = re.compile(r"^(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*(?:月)?(?:\s*[-/.]?\s*\d{1,2}\s*日?)?$")


@dataclass
class DeductionImportReport:
    imported: int = 0
    created: int = 0
    updated: int = 0
    rejected: list = field(default_factory=list)  # [(row number, reason)]

    @property
    def ok(self) -> bool:
        return not self.rejected


def _month(text: str) -> datetime.date:
    text = normalize_code(text or "")
    # A spreadsheet's date cell reads as "2026-10-01 00:00:00": its month is meant.
    day = re.fullmatch(r"(\d{4}-\d{1,2})-\d{1,2}(?:[ T][\d:.]*)?", text)
    if day:
        text = day.group(1)
    match = MONTH_RE.match(text)
    if not match:
        raise ValueError(text)
    return datetime.date(int(match.group(1)), int(match.group(2)), 1)


# Far above any special additional deduction a month (a mistyped amount, or "1E+30"), and within
# what the amount columns and Decimal's precision can hold.
MAX_MONTHLY_DEDUCTION = Decimal("1000000")


def _amount(text: str, label: str) -> Decimal:
    text = (text or "").replace(",", "").strip()
    if not text:
        return ZERO
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(_("%(column)s is not an amount: “%(value)s”.") % {"column": label, "value": text[:30]}) from exc
    if not value.is_finite() or value < 0:
        raise ValueError(_("%(column)s cannot be negative.") % {"column": label})
    if value >= MAX_MONTHLY_DEDUCTION:
        raise ValueError(_("%(column)s (%(value)s) is not a monthly deduction: check the amount.") % {"column": label, "value": text[:30]})
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(_("%(column)s has more than two decimals.") % {"column": label})
    return value.quantize(Decimal("0.01"))


def _messages(exc: ValidationError) -> str:
    return "；".join(exc.messages)


def special_deductions_import(*, upload, filename: str, acting_user) -> DeductionImportReport:
    """Read the tax client's export and save every row, or none: a row that cannot be saved (an
    unknown or invalid ID number, a name that does not match, a doctor outside the user's reach, a
    bad month or amount, mortgage and rent together, a frozen month, the same doctor and month
    twice) is rejected with its row number and reason, and then nothing is imported. Raises
    TableError when the file as a whole cannot be read."""
    header, rows = read_table(upload, filename, [ID_COLUMN])
    month_column = next((c for c in MONTH_COLUMNS if c in header), None)
    if month_column is None:
        raise TableError(_("The file is missing these columns: %(cols)s.") % {"cols": MONTH_COLUMNS[0]})
    columns = {name: next((c for c in aliases if c in header), None) for name, aliases in CATEGORY_COLUMNS.items()}
    if not any(columns.values()):
        raise TableError(_("The file has no deduction column (子女教育, 继续教育, 住房贷款利息, 住房租金, 赡养老人, 3岁以下婴幼儿照护, 个人养老金)."))
    rows = list(rows)
    if not rows:
        raise TableError(_("The file has no rows below the header."))
    report = DeductionImportReport()
    keys = {}
    for row in rows:
        try:
            keys[row.number] = keyed_hash(validate_resident_id(normalize_code(row.values.get(ID_COLUMN, ""))))
        except ValidationError:
            continue
    doctors = {d.id_number_hash: d for d in Doctor.objects.filter(id_number_hash__in=set(keys.values()))}
    reachable = set(scope_doctors(Doctor.objects.filter(pk__in=[d.pk for d in doctors.values()]), acting_user).values_list("pk", flat=True)) \
        if acting_user is not None else {d.pk for d in doctors.values()}
    existing = {}
    planned: list[SpecialDeduction] = []
    seen: dict[tuple, int] = {}
    for row in rows:
        values = row.values
        key = keys.get(row.number)
        if key is None:
            report.rejected.append((row.number, _("证件号码 is not a valid resident ID number.")))
            continue
        doctor = doctors.get(key)
        if doctor is None or doctor.pk not in reachable:
            # One answer for both: a township admin is not told that an ID number is a doctor elsewhere.
            report.rejected.append((row.number, _("No doctor within your reach has this ID number; a doctor of another township is changed by the county health bureau.")))
            continue
        name = (values.get(NAME_COLUMN) or "").strip()
        if name and name != doctor.name:
            report.rejected.append((row.number, _("姓名 “%(name)s” does not match the doctor with this ID number.") % {"name": name[:20]}))
            continue
        try:
            month = _month(values.get(month_column, ""))
        except ValueError:
            report.rejected.append((row.number, _("%(column)s must be a month such as 2026-10.") % {"column": month_column}))
            continue
        try:
            # The project's import rule: an absent column or an empty cell keeps the stored amount
            # (a new row's is 0), 清空 sets it to 0, anything else is the amount.
            amounts = {}
            for name_, col in columns.items():
                cell = import_cell(values, col) if col else KEEP
                if cell is not KEEP:
                    amounts[name_] = ZERO if cell is CLEAR else _amount(cell, col)
        except ValueError as exc:
            report.rejected.append((row.number, str(exc)))
            continue
        if (doctor.pk, month) in seen:
            report.rejected.append((row.number, _("The same doctor and month are on row %(row)s already.") % {"row": seen[(doctor.pk, month)]}))
            continue
        seen[(doctor.pk, month)] = row.number
        if month_locked(month=month, doctor=doctor):
            report.rejected.append((row.number, locked_message(month)))
            continue
        if (doctor.pk, month) not in existing:
            existing[(doctor.pk, month)] = SpecialDeduction.objects.filter(doctor=doctor, month=month).first()
        deduction = existing[(doctor.pk, month)] or SpecialDeduction(doctor=doctor, month=month)
        for name_, amount in amounts.items():
            setattr(deduction, name_, amount)
        deduction.source = SpecialDeduction.Source.IMPORTED
        try:
            deduction.full_clean()
        except ValidationError as exc:
            report.rejected.append((row.number, _messages(exc)))
            continue
        planned.append((row.number, deduction))
    if report.rejected:
        return report
    try:
        with transaction.atomic():
            for number, deduction in planned:
                created = deduction.pk is None
                try:
                    special_deduction_save(deduction=deduction, acting_user=acting_user)
                except ValidationError as exc:
                    report.rejected.append((number, _messages(exc)))
                    continue
                report.created += created
                report.updated += not created
            if report.rejected:
                raise _RollBack
    except _RollBack:
        report.created = report.updated = 0
        return report
    report.imported = report.created + report.updated
    return report


class _RollBack(Exception):
    pass


def import_rule() -> str:
    return f"{IMPORT_HELP} {empty_cell_rule('update')}"


def ytd_totals(doctor_ids, month) -> dict[int, Decimal]:
    """The year-to-date total of every category per doctor (for the income-tax component)."""
    rows = (SpecialDeduction.objects.filter(doctor_id__in=list(doctor_ids), month__gte=month.replace(month=1, day=1), month__lte=month)
            .values("doctor_id").annotate(**{f"s_{n}": Sum(n) for n in CATEGORIES}))
    return {r["doctor_id"]: sum((r[f"s_{n}"] or ZERO for n in CATEGORIES), ZERO) for r in rows}
