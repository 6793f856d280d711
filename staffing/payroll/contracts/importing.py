"""The county's family-doctor contract list, imported into the register.

The list is the one a county's family-doctor contracting system exports: **one row per resident
contract** (居民姓名, 身份证号, 签约医生, 签约日期, 服务包), not a count per doctor, because that is
what the county holds and what can be checked (a resident signed twice, a doctor misnamed).
Columns (header row, any order; CSV in UTF-8 or GB18030, or XLSX):

| column | required | meaning |
|---|---|---|
| 服务年度 | yes | the service year, e.g. 2026 |
| 签约医生 | yes | the doctor's name, checked against the register |
| 医生证件号码 | yes | the doctor's resident ID number (matched by its keyed hash) |
| 居民姓名 | yes | the resident's name (stored masked) |
| 身份证号 | yes | the resident's full ID number: only its keyed hash and a masked form are stored |
| 签约日期 | yes | YYYY-MM-DD, not after the service year |
| 服务包 | no | the service package (基础包, 高血压包…) |
| 户号 | no | the household number; the register counts distinct ones as households |

All or nothing: every wrong row is listed with its row number and reason and nothing is saved.
For each doctor and service year in the file the file's rows replace that doctor's contracts of
that year (importing the same list again changes nothing)."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.hashing import keyed_hash
from core.masking import mask_id_number
from core.tabular import TableError, parse_date, read_table
from core.validators import normalize_code, validate_resident_id
from staffing.models import Doctor
from staffing.payroll.contracts.models import ResidentContract
from staffing.reach import doctor_in_reach

YEAR, DOCTOR_NAME, DOCTOR_ID, RESIDENT_NAME, RESIDENT_ID, SIGNED_ON, PACKAGE, HOUSEHOLD = (
    "服务年度", "签约医生", "医生证件号码", "居民姓名", "身份证号", "签约日期", "服务包", "户号",
)
DOCTOR_ID_ALIASES = ("医生证件号码", "医生身份证号", "医生身份证号码")
REQUIRED = [YEAR, DOCTOR_NAME, RESIDENT_NAME, RESIDENT_ID, SIGNED_ON]
COLUMNS = [YEAR, DOCTOR_NAME, DOCTOR_ID, RESIDENT_NAME, RESIDENT_ID, SIGNED_ON, PACKAGE, HOUSEHOLD]


def mask_name(name: str) -> str:
    """张三丰 → 张**: the family name and the length, no more."""
    name = (name or "").strip()
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else name


@dataclass
class PlannedContract:
    number: int
    doctor: Doctor
    service_year: int
    resident_key: str
    resident_id_masked: str
    resident_name_masked: str
    signed_on: datetime.date
    package: str
    household: str


@dataclass
class ContractPlan:
    rows: list[PlannedContract] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    def refuse(self, number: int, problems: list[str]) -> None:
        self.errors.append((number, "；".join(problems)))

    def by_register(self) -> dict[tuple[int, int], list[PlannedContract]]:
        groups = defaultdict(list)
        for row in self.rows:
            groups[(row.doctor.pk, row.service_year)].append(row)
        return groups


def _doctor_id_column(values: dict) -> str:
    for name in DOCTOR_ID_ALIASES:
        if name in values:
            return name
    return DOCTOR_ID


def contracts_import_plan(*, upload, filename: str, acting_user) -> ContractPlan:
    """Read the list and check every row; saves nothing. Raises core.tabular.TableError when the
    file as a whole cannot be read."""
    header, rows = read_table(upload, filename, REQUIRED)
    if not any(name in header for name in DOCTOR_ID_ALIASES):
        raise TableError(_("The file is missing these columns: %(cols)s.") % {"cols": DOCTOR_ID})
    rows = list(rows)
    if not rows:
        raise TableError(_("The file has no rows below the header."))
    plan = ContractPlan()
    doctor_keys = {}
    for row in rows:
        try:
            doctor_keys[row.number] = keyed_hash(validate_resident_id(normalize_code(row.values.get(_doctor_id_column(row.values), ""))))
        except ValidationError:
            continue
    doctors = {d.id_number_hash: d for d in Doctor.objects.filter(id_number_hash__in=set(doctor_keys.values()))}
    reach: dict[int, bool] = {}
    seen: dict[tuple[int, str], int] = {}
    planned = []
    for row in rows:
        values = row.values
        problems = []
        year = None
        text = (values.get(YEAR) or "").strip().removesuffix("年")
        try:
            year = int(text)
            if not 2000 <= year <= 2100:
                raise ValueError
        except ValueError:
            problems.append(_("%(column)s: not a year such as 2026") % {"column": YEAR})
            year = None
        doctor = doctors.get(doctor_keys.get(row.number))
        if doctor is None:
            problems.append(_("%(column)s: no doctor in the register has this ID number") % {"column": DOCTOR_ID})
        else:
            if doctor.pk not in reach:
                reach[doctor.pk] = acting_user is None or doctor_in_reach(acting_user, doctor)
            if not reach[doctor.pk]:
                # Not the doctor's name: the answer must not tell who works beyond the user's reach.
                problems.append(_("%(column)s: this doctor works outside your reach; ask the county health bureau to import this row.")
                                % {"column": DOCTOR_ID})
                doctor = None
            elif (values.get(DOCTOR_NAME) or "").strip() != doctor.name:
                problems.append(_("%(column)s: “%(name)s” is not the name the register holds for this ID number")
                                % {"column": DOCTOR_NAME, "name": (values.get(DOCTOR_NAME) or "").strip()})
        resident_name = (values.get(RESIDENT_NAME) or "").strip()
        if not resident_name:
            problems.append(_("%(column)s: required") % {"column": RESIDENT_NAME})
        resident_key = None
        raw_id = normalize_code(values.get(RESIDENT_ID) or "")
        if "*" in raw_id:
            problems.append(_("%(column)s: the ID number is masked; the list must give the full number (only its keyed hash and a "
                              "masked form are stored)") % {"column": RESIDENT_ID})
        else:
            try:
                resident_id = validate_resident_id(raw_id)
                resident_key = keyed_hash(resident_id)
            except ValidationError as exc:
                problems.append(_("%(column)s: %(problem)s") % {"column": RESIDENT_ID, "problem": " ".join(exc.messages)})
        signed_on = None
        try:
            signed_on = parse_date(values.get(SIGNED_ON) or "")
        except (ValueError, TypeError):
            problems.append(_("%(column)s: not a date in the form YYYY-MM-DD") % {"column": SIGNED_ON})
        if signed_on and year and signed_on.year > year:
            problems.append(_("%(column)s: %(date)s is after the %(year)d service year") % {"column": SIGNED_ON, "date": signed_on, "year": year})
        if resident_key and year:
            first = seen.get((year, resident_key))
            if first is not None:
                problems.append(_("%(column)s: this resident already has a contract for %(year)d in row %(row)d of the same file")
                                % {"column": RESIDENT_ID, "year": year, "row": first})
            else:
                seen[(year, resident_key)] = row.number
        if problems:
            plan.refuse(row.number, problems)
            continue
        planned.append(PlannedContract(
            number=row.number, doctor=doctor, service_year=year, resident_key=resident_key, resident_id_masked=mask_id_number(raw_id),
            resident_name_masked=mask_name(resident_name), signed_on=signed_on, package=(values.get(PACKAGE) or "").strip()[:100],
            household=normalize_code(values.get(HOUSEHOLD) or "")[:40],
        ))
    # A resident already contracted that year with a doctor this file does not replace.
    replaced = {(p.doctor.pk, p.service_year) for p in planned}
    years = {p.service_year for p in planned}
    stored = ResidentContract.objects.filter(service_year__in=years, resident_key__in={p.resident_key for p in planned}).values_list(
        "service_year", "resident_key", "register__doctor_id")
    elsewhere = {(year, key) for year, key, doctor_id in stored if (doctor_id, year) not in replaced}
    for p in planned:
        if (p.service_year, p.resident_key) in elsewhere:
            plan.refuse(p.number, [_("%(column)s: this resident already has a %(year)d contract with another doctor in the register")
                                   % {"column": RESIDENT_ID, "year": p.service_year}])
        else:
            plan.rows.append(p)
    plan.errors.sort()
    return plan
