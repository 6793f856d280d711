"""Doctor import from CSV or XLSX, in two steps: a preview that lists every change row by row
and saves nothing, then a confirmation that checks everything again and saves it all or nothing.

Each row is matched to a stored doctor by ID number. A row is refused, with its number, when its
clinic or the matched doctor's posting in force is outside the acting user's reach, or when it
would move a doctor to another township and the user is not county-wide. Cells follow the one
rule of core.imports: an empty cell or an absent column keeps the stored value, 清空 clears an
optional one. Writes go through staffing.services (doctors, postings)."""

import copy
import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics.models import Facility
from clinics.scoping import OUT_OF_REACH, require_county_wide, require_facility_reach
from core.imports import (
    CLEAR,
    KEEP,
    PendingUploadError,
    import_cell,
    pending_lifetime,
    pending_upload_claim,
    pending_upload_discard,
    pending_upload_store,
)
from core.tabular import TableError, TableRow, parse_date, read_table, upload_limit
from core.validators import mask_account, mask_id_number, normalize_code, validate_mobile, validate_resident_id
from staffing.models import Doctor, Posting, keyed_hash, validate_practitioner_code
from staffing.reach import require_doctor_reach
from staffing.services.doctors import doctor_create, doctor_update
from staffing.services.postings import posting_move, posting_move_check

PURPOSE = "staffing.doctor_import"
SEX_ALIASES = {"M": "M", "男": "M", "F": "F", "女": "F"}


def _qualification_value(text: str) -> str:
    for value, label in Doctor.Qualification.choices:
        if text in (value, str(label)) or (text and text in str(label)):
            return value
    raise ValidationError(
        _("Unknown qualification “%(value)s”: use 执业医师, 执业助理医师 or 乡村医生.") % {"value": text}
    )


def _sex_value(text: str) -> str:
    value = SEX_ALIASES.get(text.upper()) or SEX_ALIASES.get(text)
    if value is None:
        raise ValidationError(_("use 男 or 女 (M or F)"))
    return value


def _date_value(text: str) -> datetime.date:
    try:
        return parse_date(text)
    except (ValueError, TypeError) as exc:
        raise ValidationError(_("not a date in the form YYYY-MM-DD")) from exc


def _text(text: str) -> str:
    return text


@dataclass(frozen=True)
class Column:
    name: str
    header: str  # the template's row 1, what a clerk reads (a file column name, Chinese whatever the UI language)
    label: object
    required: bool
    parse: Callable[[str], object]
    cleared: object = ""  # the stored value 清空 leaves (optional columns only)
    mask: Callable[[str], str] | None = None  # how the preview shows the value


COLUMNS = [
    Column("name", "姓名", gettext_lazy("full name"), True, _text),
    Column("sex", "性别", gettext_lazy("sex"), True, _sex_value),
    Column("birth_date", "出生日期", gettext_lazy("birth date"), True, _date_value),
    Column("id_number", "身份证号", gettext_lazy("ID number"), True, lambda t: validate_resident_id(normalize_code(t)), mask=mask_id_number),
    Column("mobile", "手机号", gettext_lazy("mobile"), True, lambda t: validate_mobile(normalize_code(t))),
    Column("qualification", "执业类别", gettext_lazy("qualification"), True, _qualification_value),
    Column("licence_number", "执业证书编号", gettext_lazy("licence number"), False, _text),
    Column("licence_expiry", "执照有效期", gettext_lazy("licence expiry"), False, _date_value, cleared=None),
    Column("hire_date", "入职日期", gettext_lazy("hire date"), True, _date_value),
    Column("clinic_code", "卫生室编码", gettext_lazy("clinic code"), True, normalize_code),
    Column("bank_name", "开户银行", gettext_lazy("bank"), False, _text),
    Column("bank_account", "银行账号", gettext_lazy("bank account"), False, normalize_code, mask=mask_account),
    Column("insurance_code", "国家医保医师代码", gettext_lazy("national insurance practitioner code"), False, validate_practitioner_code,
           cleared=None),
]
COLUMN_BY_NAME = {c.name: c for c in COLUMNS}
IMPORT_COLUMNS = [c.name for c in COLUMNS]
REQUIRED_IMPORT_COLUMNS = [c.name for c in COLUMNS if c.required]
HEADER_TO_NAME = {c.header: c.name for c in COLUMNS}
TEMPLATE_HEADERS = [c.header for c in COLUMNS]


def column_name(header: str) -> str:
    """The importer's name for a file's column: the Chinese header of the template (姓名), the
    internal name older files use (name), or both as 姓名（name）; full-width letters and brackets
    read as plain ones. Anything else is returned as it is (and ignored as an unknown column)."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFKC", header or "").strip()
    bracketed = re.fullmatch(r"(.*?)\s*\(\s*([A-Za-z_]+)\s*\)", text)
    if bracketed and bracketed.group(2).lower() in COLUMN_BY_NAME:
        return bracketed.group(2).lower()
    if text.lower() in COLUMN_BY_NAME:
        return text.lower()
    return HEADER_TO_NAME.get(text.rstrip("*").strip(), text)


def _read_doctor_table(upload, filename: str):
    """read_table with the Chinese headers (or the internal names) mapped to the importer's names;
    a missing required column is named by its Chinese header, with the internal name in brackets."""
    from core.tabular import check_header

    header, rows = read_table(upload, filename, ())
    names = [column_name(h) for h in header]
    missing = [f"{c.header}（{c.name}）" for c in COLUMNS if c.required and c.name not in names]
    if missing:
        raise TableError(_("The file is missing these columns: %(cols)s.") % {"cols": ", ".join(missing)})
    check_header(names, ())  # 姓名 and name side by side name one column twice
    return names, (TableRow(number=row.number, values={column_name(k): v for k, v in row.values.items()}) for row in rows)
DOCTOR_COLUMNS = [c for c in COLUMNS if c.name not in ("id_number", "clinic_code")]  # fields compared and written


# --- The plan: what a file would change ---------------------------------------------------------

@dataclass
class FieldChange:
    field: str
    label: str
    old: str
    new: str
    secret: bool = False


@dataclass
class RowPlan:
    number: int
    doctor: Doctor | None  # None: a new doctor
    name: str
    id_number_masked: str
    data: dict = field(default_factory=dict)  # a new doctor's values, or the changed fields only
    before: dict = field(default_factory=dict)  # the stored values of the changed fields
    changes: list[FieldChange] = field(default_factory=list)
    facility: Facility | None = None  # a new doctor's clinic, or the clinic a matched doctor moves to
    move_from: Facility | None = None
    move_start: datetime.date | None = None

    @property
    def action(self) -> str:
        if self.doctor is None:
            return "create"
        return "update" if self.data or self.facility is not None else "unchanged"

    @property
    def bank_account_changes(self) -> bool:
        return self.doctor is not None and "bank_account" in self.data


@dataclass
class ImportPlan:
    rows: list[RowPlan] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    codes: dict[int, set[str]] = field(default_factory=dict)  # error codes by row (out_of_reach…)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def new_count(self) -> int:
        return self.count("create")

    @property
    def update_count(self) -> int:
        return self.count("update")

    @property
    def unchanged_count(self) -> int:
        return self.count("unchanged")

    @property
    def bank_account_changes(self) -> int:
        return sum(1 for r in self.rows if r.bank_account_changes)

    def refuse(self, number: int, problems: list[str], codes: set[str]) -> None:
        self.errors.append((number, "；".join(problems)))
        if codes:
            self.codes.setdefault(number, set()).update(codes)

    def fingerprint(self) -> str:
        """A keyed digest of every change (raw values), so a confirmation can tell that the stored
        data changed since the preview. Keyed, because the token that carries it is readable."""
        body = [
            [
                r.number,
                getattr(r.doctor, "pk", None),
                sorted((k, str(r.before.get(k)), str(v)) for k, v in r.data.items()),
                getattr(r.facility, "pk", None),
                getattr(r.move_from, "pk", None),
                str(r.move_start),
            ]
            for r in self.rows
        ]
        return salted_hmac(PURPOSE, json.dumps(body, ensure_ascii=False), algorithm="sha256").hexdigest()


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    codes: dict[int, set[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _display(column: Column, value) -> str:
    if value in (None, ""):
        return _("(empty)")
    if column.mask:
        return column.mask(str(value))
    if column.name == "sex":
        return str(Doctor.Sex(value).label)
    if column.name == "qualification":
        return str(Doctor.Qualification(value).label)
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def _messages(exc: ValidationError) -> list[str]:
    if not hasattr(exc, "error_dict"):
        return exc.messages
    out = []
    for name, errors in exc.error_dict.items():
        column = COLUMN_BY_NAME.get(name)
        label = str(column.label) if column else ("" if name == "__all__" else name)
        text = " ".join(m for e in errors for m in e.messages)
        out.append(f"{label}: {text}" if label else text)
    return out


def _codes(exc: ValidationError) -> set[str]:
    found = set()
    for error in exc.error_list if not hasattr(exc, "error_dict") else [e for es in exc.error_dict.values() for e in es]:
        if error.code:
            found.add(error.code)
    return found


def _out_of_reach_clinic(code: str) -> str:
    return _("clinic code: no clinic you can reach has the code “%(code)s”") % {"code": code}


def _move_start(doctor: Doctor, current: Posting | None, hire_date: datetime.date) -> datetime.date:
    """A move an import asks for starts today (never backdated into months already rostered or
    paid), and after the current posting's start and the hire date."""
    start = max(timezone.localdate(), hire_date)
    if current is not None:
        start = max(start, current.start_date + datetime.timedelta(days=1))
    return start


def _plan_row(number, values, *, acting_user, facilities, existing, plan: ImportPlan) -> RowPlan | None:
    problems: list[str] = []
    codes: set[str] = set()
    cells = {}
    for column in COLUMNS:
        try:
            cell = import_cell(values, column.name, required=column.required, label=column.label)
            cells[column.name] = cell if cell in (KEEP, CLEAR) else column.parse(cell)
        except ValidationError as exc:
            problems.append(f"{column.label}: {' '.join(exc.messages)}")
            codes |= _codes(exc)
            cells[column.name] = None
    id_number = cells["id_number"]
    if id_number is KEEP:
        problems.append(_("ID number: required (a row is matched to a stored doctor by it)"))
    if problems or id_number is None:
        plan.refuse(number, problems, codes)
        return None

    doctor = existing.get(keyed_hash(id_number))
    if doctor is not None:
        try:
            require_doctor_reach(acting_user, doctor, field=None)
        except ValidationError:
            # Not the doctor's name: a number typed from elsewhere must not tell whose it is.
            plan.refuse(
                number,
                [_("ID number: this person is registered at a clinic outside your reach; ask the county health bureau to change the record.")],
                {OUT_OF_REACH},
            )
            return None

    facility = None
    code = cells["clinic_code"]
    if isinstance(code, str):
        facility = facilities.get(code)
        try:
            if facility is None:
                raise ValidationError(_out_of_reach_clinic(code), code=OUT_OF_REACH)
            require_facility_reach(acting_user, facility, field=None)
        except ValidationError:
            # The same words for an unknown code and a code outside reach: the answer must not tell
            # which codes exist elsewhere.
            problems.append(_out_of_reach_clinic(code))
            codes.add(OUT_OF_REACH)
            facility = None

    row = RowPlan(number=number, doctor=doctor, name="", id_number_masked=mask_id_number(id_number))
    if doctor is None:
        missing = [str(c.label) for c in COLUMNS if c.required and cells[c.name] is KEEP]
        if missing:
            problems.append(_("a new doctor needs every required column; empty: %(columns)s") % {"columns": ", ".join(missing)})
        row.data = {"id_number": id_number}
        for column in DOCTOR_COLUMNS:
            value = cells[column.name]
            row.data[column.name] = column.cleared if value in (KEEP, CLEAR) else value
            if value not in (KEEP, CLEAR) and value not in ("", None):
                row.changes.append(FieldChange(column.name, str(column.label), _display(column, None), _display(column, value), bool(column.mask)))
        row.changes.insert(0, FieldChange("id_number", str(_("ID number")), _display(COLUMN_BY_NAME["id_number"], None), row.id_number_masked, True))
        row.facility = facility
        row.name = row.data.get("name") or ""
        candidate = Doctor(**row.data)
    else:
        row.name = doctor.name
        for column in DOCTOR_COLUMNS:
            value = cells[column.name]
            if value is KEEP:
                continue
            new = column.cleared if value is CLEAR else value
            old = getattr(doctor, column.name)
            if (old or None) == (new or None):
                continue
            row.data[column.name] = new
            row.before[column.name] = old
            row.changes.append(FieldChange(column.name, str(column.label), _display(column, old), _display(column, new), bool(column.mask)))
        candidate = copy.copy(doctor)
        for key, value in row.data.items():
            setattr(candidate, key, value)
        if facility is not None:
            current = Posting.objects.filter(doctor=doctor, end_date__isnull=True).select_related("facility").first()
            if current is None or current.facility_id != facility.pk:
                try:
                    if current is not None and current.facility.township_id != facility.township_id:
                        require_county_wide(acting_user, what=_("Moving a doctor to another township"))
                except ValidationError as exc:
                    problems.extend(exc.messages)
                    codes.add(OUT_OF_REACH)
                row.facility, row.move_from = facility, getattr(current, "facility", None)
                row.move_start = _move_start(doctor, current, candidate.hire_date)
    if problems:
        plan.refuse(number, problems, codes)
        return None
    try:
        if doctor is None or row.data:  # an unchanged row is not held to today's rules for old data
            candidate.full_clean()
    except ValidationError as exc:
        plan.refuse(number, _messages(exc), _codes(exc))
        return None
    if row.move_start is not None:
        try:
            posting_move_check(doctor=doctor, facility=row.facility, start_date=row.move_start, acting_user=acting_user)
        except ValidationError as exc:
            plan.refuse(number, _messages(exc), _codes(exc))
            return None
    return row


TEMPLATE_EXAMPLE = {  # one row a person can read as an example; the clinic code is one of the user's
    "name": "韦小明", "sex": "男", "birth_date": "1985-06-01", "id_number": "45102819850601001X",
    "mobile": "13800771234", "qualification": "乡村医生", "licence_number": "", "licence_expiry": "",
    "hire_date": "2026-01-05", "clinic_code": "", "bank_name": "广西农村信用社", "bank_account": "",
    "insurance_code": "",
}


def _example_id_number(first17: str) -> str:
    """A resident ID number with its check digit (GB 11643), for the template's example row."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def doctors_import_template(*, acting_user) -> bytes:
    """The import template (XLSX) from COLUMNS, the importer's own column list: row 1 the column
    headers in Chinese as the importer reads them, row 2 an example (with a clinic code in the
    user's reach); a second sheet 填写说明 gives each column's meaning, whether it is required and
    the internal name older files use (also accepted)."""
    from io import BytesIO

    from openpyxl import Workbook

    from clinics.scoping import scope_facilities

    clinic = scope_facilities(Facility.objects.order_by("code"), acting_user).first()
    example = {**TEMPLATE_EXAMPLE, "id_number": _example_id_number("45102819850601001"),
               "clinic_code": clinic.code if clinic is not None else ""}
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("doctor import")
    sheet.append(TEMPLATE_HEADERS)
    sheet.append([example[name] for name in IMPORT_COLUMNS])
    for cell in sheet[2]:
        cell.number_format = "@"  # codes and dates as text: leading zeros and the X kept
    notes = workbook.create_sheet(_("column notes"))
    notes.append([_("Column"), _("Meaning"), _("Required"), _("Internal name (also accepted as the header)")])
    for column in COLUMNS:
        notes.append([
            column.header, str(column.label), _("required") if column.required else _("optional"), column.name,
        ])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def doctors_import_plan(*, upload, filename: str, acting_user) -> ImportPlan:
    """Read a file and say what it would change, row by row; saves nothing. Raises
    core.tabular.TableError when the file as a whole cannot be read."""
    plan = ImportPlan()
    _header, rows = _read_doctor_table(upload, filename)
    rows = list(rows)
    if not rows:
        raise TableError(_("The file has no rows below the header."))
    facilities = {normalize_code(f.code): f for f in Facility.objects.select_related("township")}
    keys: dict[int, str] = {}  # row number → keyed hash of its ID number, where it is valid
    for row in rows:
        try:
            keys[row.number] = keyed_hash(validate_resident_id(normalize_code(row.values.get("id_number", ""))))
        except ValidationError:
            continue
    existing = {d.id_number_hash: d for d in Doctor.objects.filter(id_number_hash__in=set(keys.values()))}
    seen_ids: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for row in rows:
        key = keys.get(row.number)
        if key in seen_ids:
            plan.refuse(row.number, [_("ID number repeats row %(row)s of the same file.") % {"row": seen_ids[key]}], set())
            continue
        if key:
            seen_ids[key] = row.number
        planned = _plan_row(row.number, row.values, acting_user=acting_user, facilities=facilities, existing=existing, plan=plan)
        if planned is None:
            continue
        code = planned.data.get("insurance_code")
        if code and code in seen_codes:
            plan.refuse(row.number, [_("insurance code repeats row %(row)s of the same file.") % {"row": seen_codes[code]}], set())
            continue
        if code:
            seen_codes[code] = row.number
        plan.rows.append(planned)
    return plan


class _RollBack(Exception):
    pass


def doctors_import_apply(*, plan: ImportPlan, acting_user) -> ImportReport:
    """Save a plan without errors, all or nothing, through the register's services (which check
    reach again, under their own locks)."""
    report = ImportReport()
    if not plan.ok:
        report.errors, report.codes = list(plan.errors), dict(plan.codes)
        return report
    try:
        with transaction.atomic():
            for row in plan.rows:
                try:
                    with transaction.atomic():
                        if row.action == "create":
                            doctor_create(acting_user=acting_user, facility=row.facility, **row.data)
                            report.created += 1
                        elif row.action == "update":
                            doctor = Doctor.objects.select_for_update().get(pk=row.doctor.pk)
                            if row.data:
                                doctor_update(doctor=doctor, acting_user=acting_user, **row.data)
                            if row.facility is not None:
                                posting_move(doctor=doctor, facility=row.facility, start_date=row.move_start, acting_user=acting_user)
                            report.updated += 1
                        else:
                            report.unchanged += 1
                except ValidationError as exc:
                    report.errors.append((row.number, "；".join(_messages(exc))))
                    if _codes(exc):
                        report.codes.setdefault(row.number, set()).update(_codes(exc))
                except IntegrityError:
                    report.errors.append((row.number, _("conflicts with an existing doctor (ID number or insurance code already used).")))
            if report.errors:
                raise _RollBack
    except _RollBack:
        report.created = report.updated = report.unchanged = 0
    return report


def doctors_import(*, upload, filename: str, acting_user) -> ImportReport:
    """Plan and save in one step (commands and tests; the admin page previews first)."""
    return doctors_import_apply(plan=doctors_import_plan(upload=upload, filename=filename, acting_user=acting_user), acting_user=acting_user)


# --- Preview and confirmation -------------------------------------------------------------------

@dataclass
class Preview:
    plan: ImportPlan
    token: str = ""  # empty when the plan has errors: there is nothing to confirm

    @property
    def minutes(self) -> int:
        return pending_lifetime() // 60


@dataclass
class Confirmation:
    report: ImportReport | None = None
    preview: Preview | None = None  # the stored data changed since the preview: check it again


def doctors_import_preview(*, upload, filename: str, acting_user) -> Preview:
    # At most one byte over the limit is read, so an oversized upload is refused by read_table's
    # size check (with its message) without being held in memory whole.
    data = upload.read(upload_limit("UPLOAD_MAX_BYTES") + 1) if hasattr(upload, "read") else upload
    plan = doctors_import_plan(upload=data, filename=filename, acting_user=acting_user)
    if not plan.ok:
        return Preview(plan=plan)
    token = pending_upload_store(
        data=data, filename=filename, user=acting_user, purpose=PURPOSE, extra={"plan": plan.fingerprint()}
    )
    return Preview(plan=plan, token=token)


def doctors_import_confirm(*, token: str, acting_user) -> Confirmation:
    """Claim the previewed file (once), check every row again and save. When what the file would
    change is no longer what the preview showed, nothing is saved and a fresh preview is returned.
    Raises PendingUploadError for an expired, tampered, used or someone else's token."""
    pending = pending_upload_claim(token=token, user=acting_user, purpose=PURPOSE)
    plan = doctors_import_plan(upload=pending.data, filename=pending.filename, acting_user=acting_user)
    if not plan.ok:
        return Confirmation(report=doctors_import_apply(plan=plan, acting_user=acting_user))
    if plan.fingerprint() != pending.extra.get("plan"):
        fresh = pending_upload_store(
            data=pending.data, filename=pending.filename, user=acting_user, purpose=PURPOSE, extra={"plan": plan.fingerprint()}
        )
        return Confirmation(preview=Preview(plan=plan, token=fresh))
    return Confirmation(report=doctors_import_apply(plan=plan, acting_user=acting_user))


def doctors_import_cancel(*, token: str, acting_user) -> None:
    pending_upload_discard(token=token, user=acting_user, purpose=PURPOSE)


__all__ = [
    "IMPORT_COLUMNS",
    "doctors_import_template",
    "REQUIRED_IMPORT_COLUMNS",
    "ImportPlan",
    "ImportReport",
    "PendingUploadError",
    "doctors_import",
    "doctors_import_cancel",
    "doctors_import_confirm",
    "doctors_import_plan",
    "doctors_import_preview",
]
