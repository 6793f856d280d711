"""Writes to the doctor register. Each service validates, saves in one transaction and audits."""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from clinics.audit import audit_record, changed_fields, snapshot
from clinics.models import Facility, Role, UserScope
from clinics.roles import role_assign
from clinics.tabular import parse_date, read_table
from clinics.validators import validate_mobile, validate_resident_id
from staffing.models import Doctor, Posting, keyed_hash

DOCTOR_FIELDS = [
    "name",
    "sex",
    "birth_date",
    "id_number",
    "mobile",
    "qualification",
    "licence_number",
    "licence_expiry",
    "insurance_code",
    "status",
    "hire_date",
    "exit_date",
    "bank_name",
    "bank_account",
]
AUDITED_DOCTOR_FIELDS = [f for f in DOCTOR_FIELDS if f not in {"id_number", "bank_account"}]


@transaction.atomic
def doctor_create(*, acting_user, facility: Facility | None = None, **data) -> Doctor:
    doctor = Doctor(**data)
    doctor.full_clean()
    doctor.save()
    audit_record(actor=acting_user, action="doctor.create", target=doctor, changes=snapshot(doctor, AUDITED_DOCTOR_FIELDS))
    if facility is not None:
        posting_open(doctor=doctor, facility=facility, start_date=doctor.hire_date, acting_user=acting_user)
    return doctor


@transaction.atomic
def doctor_update(*, doctor: Doctor, acting_user, **data) -> Doctor:
    before = snapshot(doctor, DOCTOR_FIELDS)
    for key, value in data.items():
        if key not in DOCTOR_FIELDS:
            raise ValueError(f"unknown doctor field {key}")
        setattr(doctor, key, value)
    doctor.full_clean()
    doctor.save()
    changes = changed_fields(before, snapshot(doctor, DOCTOR_FIELDS))
    # Personal identifiers are audited as "changed", never with their values.
    for secret in ("id_number", "bank_account"):
        if secret in changes:
            changes[secret] = ["***", "***"]
    if changes:
        audit_record(actor=acting_user, action="doctor.update", target=doctor, changes=changes)
    if doctor.exit_date:
        open_posting = doctor.postings.filter(end_date__isnull=True).first()
        if open_posting and open_posting.start_date <= doctor.exit_date:
            posting_close(posting=open_posting, end_date=doctor.exit_date, acting_user=acting_user)
    return doctor


def _check_overlap(*, doctor: Doctor, start_date, end_date, exclude_pk=None) -> None:
    overlapping = Posting.objects.filter(doctor=doctor).exclude(pk=exclude_pk)
    overlapping = overlapping.exclude(end_date__lt=start_date)
    if end_date is not None:
        overlapping = overlapping.exclude(start_date__gt=end_date)
    clash = overlapping.select_related("facility").first()
    if clash:
        raise ValidationError(
            {
                "start_date": _(
                    "This doctor is already posted to %(facility)s from %(start)s; "
                    "end that posting first or move the doctor."
                )
                % {"facility": clash.facility.name, "start": clash.start_date}
            }
        )


def _sync_user_scope(doctor: Doctor, facility: Facility | None) -> None:
    """A village doctor's login reaches the clinic of their open posting."""
    if doctor.user_id is None or facility is None:
        return
    scope = UserScope.objects.filter(user_id=doctor.user_id).first()
    if scope is None or scope.role == Role.VILLAGE_DOCTOR:
        role_assign(user=doctor.user, role=Role.VILLAGE_DOCTOR, facility=facility, township=facility.township)


@transaction.atomic
def posting_open(*, doctor: Doctor, facility: Facility, start_date: datetime.date, acting_user, end_date=None) -> Posting:
    if start_date < doctor.hire_date:
        raise ValidationError({"start_date": _("A posting cannot start before the doctor's hire date.")})
    _check_overlap(doctor=doctor, start_date=start_date, end_date=end_date)
    posting = Posting(doctor=doctor, facility=facility, start_date=start_date, end_date=end_date)
    posting.full_clean()
    try:
        with transaction.atomic():
            posting.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"doctor": _("This doctor already has an open posting; close it or move the doctor.")}
        ) from exc
    audit_record(
        actor=acting_user,
        action="posting.open",
        target=posting,
        changes={"facility": facility.code, "start_date": start_date, "end_date": end_date},
    )
    if end_date is None:
        _sync_user_scope(doctor, facility)
    return posting


@transaction.atomic
def posting_close(*, posting: Posting, end_date: datetime.date, acting_user) -> Posting:
    if end_date < posting.start_date:
        raise ValidationError({"end_date": _("A posting cannot end before it starts.")})
    before = posting.end_date
    posting.end_date = end_date
    posting.full_clean()
    posting.save(update_fields=["end_date"])
    audit_record(actor=acting_user, action="posting.close", target=posting, changes={"end_date": [before, end_date]})
    return posting


def posting_move_check(*, doctor: Doctor, facility: Facility, start_date: datetime.date) -> Posting | None:
    """Refuse a move that cannot be made, with the friendly message; returns the open posting it
    would close. The admin form calls it before saving, `posting_move` again under the row lock."""
    if start_date < doctor.hire_date:
        raise ValidationError({"start_date": _("A posting cannot start before the doctor's hire date.")})
    current = Posting.objects.filter(doctor=doctor, end_date__isnull=True).first()
    if current is not None:
        if current.facility_id == facility.pk:
            raise ValidationError({"facility": _("The doctor already works at this facility.")})
        if start_date <= current.start_date:
            raise ValidationError(
                {"start_date": _("The move must start after the current posting's start date (%(date)s).")
                 % {"date": current.start_date}}
            )
    _check_overlap(doctor=doctor, start_date=start_date, end_date=None, exclude_pk=getattr(current, "pk", None))
    return current


@transaction.atomic
def posting_move(*, doctor: Doctor, facility: Facility, start_date: datetime.date, acting_user) -> Posting:
    """Close the doctor's open posting the day before `start_date` and open one at `facility`."""
    Posting.objects.select_for_update().filter(doctor=doctor, end_date__isnull=True).first()
    current = posting_move_check(doctor=doctor, facility=facility, start_date=start_date)
    if current is not None:
        posting_close(posting=current, end_date=start_date - datetime.timedelta(days=1), acting_user=acting_user)
    return posting_open(doctor=doctor, facility=facility, start_date=start_date, acting_user=acting_user)


# --- Import -------------------------------------------------------------------------------------

IMPORT_COLUMNS = [
    "name",
    "sex",
    "birth_date",
    "id_number",
    "mobile",
    "qualification",
    "licence_number",
    "licence_expiry",
    "hire_date",
    "clinic_code",
    "bank_name",
    "bank_account",
    "insurance_code",
]
REQUIRED_IMPORT_COLUMNS = ["name", "sex", "birth_date", "id_number", "mobile", "qualification", "hire_date", "clinic_code"]
SEX_ALIASES = {"M": "M", "男": "M", "F": "F", "女": "F"}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _qualification_value(text: str) -> str:
    for value, label in Doctor.Qualification.choices:
        if text in (value, str(label)) or (text and text in str(label)):
            return value
    raise ValidationError(
        _("Unknown qualification “%(value)s”: use 执业医师, 执业助理医师 or 乡村医生.") % {"value": text}
    )


def _parse_import_row(values: dict, facilities: dict) -> tuple[dict, Facility]:
    problems = []

    def take(label, func):
        try:
            return func()
        except ValidationError as exc:
            problems.append(f"{label}: {' '.join(exc.messages)}")
        except (ValueError, TypeError):
            problems.append(f"{label}: " + _("not a date in the form YYYY-MM-DD"))
        return None

    data = {"name": values.get("name", "").strip()}
    if not data["name"]:
        problems.append(_("name: required"))
    sex_text = values.get("sex", "").strip().upper() or values.get("sex", "").strip()
    data["sex"] = SEX_ALIASES.get(sex_text)
    if data["sex"] is None:
        problems.append(_("sex: use 男 or 女 (M or F)"))
    data["id_number"] = take(_("ID number"), lambda: validate_resident_id(values.get("id_number", "")))
    data["mobile"] = take(_("mobile"), lambda: validate_mobile(values.get("mobile", "")))
    data["birth_date"] = take(_("birth date"), lambda: parse_date(values.get("birth_date", "")))
    data["hire_date"] = take(_("hire date"), lambda: parse_date(values.get("hire_date", "")))
    expiry = values.get("licence_expiry", "").strip()
    data["licence_expiry"] = take(_("licence expiry"), lambda: parse_date(expiry)) if expiry else None
    data["qualification"] = take(_("qualification"), lambda: _qualification_value(values.get("qualification", "").strip()))
    data["licence_number"] = values.get("licence_number", "").strip()
    data["bank_name"] = values.get("bank_name", "").strip()
    data["bank_account"] = values.get("bank_account", "").strip()
    data["insurance_code"] = values.get("insurance_code", "").strip() or None
    code = values.get("clinic_code", "").strip()
    facility = facilities.get(code)
    if facility is None:
        problems.append(_("clinic code: no clinic has the code “%(code)s”") % {"code": code})
    if problems:
        raise ValidationError(problems)
    return data, facility


def doctors_import(*, upload, filename: str, acting_user) -> ImportReport:
    """Import doctors from CSV or XLSX. All or nothing: with any bad row, nothing is saved and
    the report lists every bad row's number and reason."""
    report = ImportReport()
    _header, rows = read_table(upload, filename, REQUIRED_IMPORT_COLUMNS)
    rows = list(rows)
    facilities = {f.code: f for f in Facility.objects.all()}
    parsed = []
    seen_ids: dict[str, int] = {}
    for row in rows:
        try:
            data, facility = _parse_import_row(row.values, facilities)
        except ValidationError as exc:
            report.errors.append((row.number, "；".join(exc.messages)))
            continue
        if data["id_number"] in seen_ids:
            report.errors.append(
                (row.number, _("ID number repeats row %(row)s of the same file.") % {"row": seen_ids[data["id_number"]]})
            )
            continue
        seen_ids[data["id_number"]] = row.number
        parsed.append((row.number, data, facility))
    if report.errors:
        return report
    existing = {d.id_number_hash: d for d in Doctor.objects.filter(id_number_hash__in=[keyed_hash(values["id_number"]) for _number, values, _facility in parsed])}
    try:
        with transaction.atomic():
            for number, data, facility in parsed:
                try:
                    with transaction.atomic():
                        doctor = existing.get(keyed_hash(data["id_number"]))
                        if doctor is None:
                            doctor = doctor_create(acting_user=acting_user, facility=facility, **data)
                            report.created += 1
                        else:
                            doctor_update(doctor=doctor, acting_user=acting_user, **data)
                            open_posting = doctor.postings.filter(end_date__isnull=True).first()
                            if open_posting is None or open_posting.facility_id != facility.pk:
                                start = max(data["hire_date"], open_posting.start_date + datetime.timedelta(days=1)) if open_posting else data["hire_date"]
                                posting_move(doctor=doctor, facility=facility, start_date=start, acting_user=acting_user)
                            report.updated += 1
                except ValidationError as exc:
                    report.errors.append((number, "；".join(exc.messages)))
                except IntegrityError:
                    report.errors.append((number, _("conflicts with an existing doctor (ID number or insurance code already used).")))
            if report.errors:
                raise _RollBack
    except _RollBack:
        report.created = report.updated = 0
    return report


class _RollBack(Exception):
    pass
