"""Doctor import from CSV or XLSX."""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from clinics.models import Facility
from clinics.tabular import parse_date, read_table
from clinics.validators import validate_mobile, validate_resident_id
from staffing.models import Doctor, keyed_hash
from staffing.services import doctor_create, doctor_update, posting_move

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
