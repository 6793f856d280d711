"""A run's warnings for review: grouped by kind (most serious first), counted, each naming the
township, clinic and doctor with links to the doctor's and the clinic's admin pages and to the
payslip. Two queries whatever the number of warnings: the run (given) and its payslips with
warnings (with doctor, clinic and township joined)."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.urls import reverse

from staffing.models import doctor_label
from staffing.payroll.models import PayRun, Payslip
from staffing.payroll.review.warnings import SEVERITIES, WarningKind, warning_kind, warning_sentence


@dataclass
class WarningItem:
    sentence: str
    doctor_id: int | None = None
    doctor: str = ""
    facility_id: int | None = None
    clinic: str = ""
    township: str = ""
    payslip_id: int | None = None
    doctor_url: str = ""
    clinic_url: str = ""
    payslip_url: str = ""


@dataclass
class ClinicRow:
    """The doctors of one clinic with the same sentence, shown on one row."""

    township: str
    clinic: str
    clinic_url: str
    sentence: str
    doctors: list = field(default_factory=list)  # WarningItem, each with its links


@dataclass
class WarningGroup:
    kind: WarningKind
    run_items: list = field(default_factory=list)  # about the run as a whole
    items: list = field(default_factory=list)  # about one doctor each

    @property
    def count(self) -> int:
        return len(self.items) or len(self.run_items)

    @property
    def doctor_count(self) -> int:
        return len({i.doctor_id for i in self.items})

    @property
    def clinic_count(self) -> int:
        return len({i.facility_id for i in self.items})

    @property
    def rows(self) -> list[ClinicRow]:
        merged: dict = {}
        for item in self.items:
            key = (item.township, item.clinic, item.facility_id, item.sentence)
            row = merged.get(key)
            if row is None:
                row = merged[key] = ClinicRow(item.township, item.clinic, item.clinic_url, item.sentence)
            row.doctors.append(item)
        return list(merged.values())


@dataclass
class WarningReview:
    groups: list

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def blocking(self) -> list[WarningGroup]:
        return [g for g in self.groups if g.kind.blocks_approval]

    def __bool__(self) -> bool:
        return bool(self.groups)

    def __len__(self) -> int:
        return self.total


def _url_pattern(name: str) -> str:
    """The admin URL of `name` with a placeholder id, resolved once (reverse() per item costs
    more than the whole page's queries at 2,000 warnings)."""
    return reverse(name, args=[987654321]).replace("987654321", "{}")


def review_warnings(*, run: PayRun, payslips=None) -> WarningReview:
    """The run's warnings grouped by kind. `payslips`: an already scoped queryset of the run's
    payslips (default: all of them)."""
    doctor_url = _url_pattern("admin:staffing_doctor_change")
    clinic_url = _url_pattern("admin:clinics_facility_change")
    slip_url = _url_pattern("admin:payroll_payslip_change")
    groups: dict[str, WarningGroup] = {}

    def group(code) -> WarningGroup:
        code = str(code or "")
        if code not in groups:
            groups[code] = WarningGroup(kind=warning_kind(code))
        return groups[code]

    for warning in run.warnings or []:
        code = warning.get("code") if isinstance(warning, dict) else None
        group(code).run_items.append(WarningItem(sentence=warning_sentence(warning)))
    slips = payslips if payslips is not None else Payslip.objects.filter(run=run)
    rows = (
        slips.exclude(warnings=[])
        .order_by("township__code", "facility__code", "doctor__name", "id")
        .values_list("pk", "warnings", "doctor_id", "doctor__name", "doctor__is_demo", "facility_id", "facility__name", "township__name")
    )
    sentences: dict = {}  # many doctors share a sentence: render each distinct warning once
    for pk, warnings, doctor_id, name, is_demo, facility_id, clinic, township in rows:
        for warning in warnings or []:
            key = repr(warning)
            if key not in sentences:
                sentences[key] = warning_sentence(warning)
            code = warning.get("code") if isinstance(warning, dict) else None
            group(code).items.append(WarningItem(
                sentence=sentences[key], doctor_id=doctor_id, doctor=doctor_label(name, is_demo), facility_id=facility_id,
                clinic=clinic, township=township or "", payslip_id=pk, doctor_url=doctor_url.format(doctor_id),
                clinic_url=clinic_url.format(facility_id), payslip_url=slip_url.format(pk),
            ))
    ordered = sorted(groups.values(), key=lambda g: (SEVERITIES.index(g.kind.severity), -g.count, g.kind.code))
    return WarningReview(groups=ordered)


def blocking_doctors(review: WarningReview) -> dict[str, list[str]]:
    """Per blocking kind's label, the doctors (or the run) it names."""
    found = defaultdict(list)
    for g in review.blocking:
        names = sorted({i.doctor for i in g.items}) or [str(g.kind.label)]
        found[str(g.kind.label)].extend(names)
    return dict(found)
