"""The doctor register's export as a job (issue #19: exports of the whole county or province).

The register export (CSV or XLSX, full ID and bank numbers for the county admin and payroll
officer) stays immediate for a selection of fewer than EXPORT_JOB_MIN_ROWS doctors (default 5,000:
a county's register is a few hundred to two thousand doctors, a province's tens of thousands). A
larger selection runs on a worker: the rows are counted with progress every EXPORT_PROGRESS_ROWS,
and the file is kept as the job's private result (`core.jobs.attach_file`), downloadable by the
starter only, for JOBS_FILE_RETENTION_HOURS.

The job takes the starter's id and the selection (the doctors' ids, or "everything in reach")
and derives the reach again when it runs, from the starter's role then: a township admin's job
exports his township's doctors only, whatever ids it was given, and masked numbers unless the
role sees them in full. Exporting again is harmless (the file of an earlier attempt is replaced)."""


from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.models import Role
from clinics.scoping import has_role, user_role
from core.errors import Refused
from core.jobs import attach_file, register_job, start_job
from core.tabular import DATE, TEXT, csv_text, xlsx_bytes
from staffing.models import Doctor, Posting
from staffing.reach import scope_doctors

DOCTOR_EXPORT = "staffing.doctor_export"
EXPORT_PROGRESS_ROWS = 500

FULL_PERSONAL_DATA_ROLES = (Role.COUNTY_ADMIN, Role.PAYROLL_OFFICER)
# Codes are text cells (leading zeros kept, never a number in scientific notation); the rest of
# the doctor export is inferred (names and free text neutralised against spreadsheet formulas).
DOCTOR_EXPORT_KINDS = {
    "id_number": TEXT, "mobile": TEXT, "licence_number": TEXT, "clinic_code": TEXT, "bank_account": TEXT,
    "insurance_code": TEXT, "birth_date": DATE, "licence_expiry": DATE, "hire_date": DATE,
}
DOCTOR_EXPORT_HEADERS = [
    "name", "sex", "birth_date", "id_number", "mobile", "qualification", "licence_number",
    "licence_expiry", "hire_date", "clinic_code", "bank_name", "bank_account", "insurance_code", "status",
]
FORMATS = {
    "csv": ("doctors.csv", "text/csv; charset=utf-8"),
    "xlsx": ("doctors.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def doctor_export_rows(queryset, *, user):
    """The register's header and rows (a generator) for `queryset`, in name order; full ID and bank
    numbers only for the roles that see them in full, masked otherwise."""
    full = has_role(user, *FULL_PERSONAL_DATA_ROLES)
    today = timezone.localdate()
    current = Posting.objects.filter(doctor=OuterRef("pk"), start_date__lte=today).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=today)
    )
    rows = queryset.annotate(clinic_code=Subquery(current.values("facility__code")[:1])).order_by("name", "id")
    body = (
        [
            d.name, d.sex, d.birth_date, d.id_number if full else d.id_number_masked, d.mobile,
            d.qualification, d.licence_number, d.licence_expiry or "", d.hire_date, d.clinic_code or "",
            d.bank_name, d.bank_account if full else d.bank_account_masked, d.insurance_code or "", d.status,
        ]
        for d in rows.iterator(chunk_size=2000)
    )
    return list(DOCTOR_EXPORT_HEADERS), body


def doctor_export_content(fmt: str, headers, body) -> bytes:
    if fmt == "xlsx":
        return xlsx_bytes(headers, body, "doctors", kinds=DOCTOR_EXPORT_KINDS)
    return csv_text(headers, body, kinds=DOCTOR_EXPORT_KINDS).encode("utf-8")


def export_as_job(count: int) -> bool:
    """An export of at least EXPORT_JOB_MIN_ROWS rows runs as a job; a smaller one stays in the request."""
    return count >= settings.EXPORT_JOB_MIN_ROWS


def doctor_export_start(*, user, fmt: str, doctor_ids=None):
    """The queued or running export of these doctors (None: every doctor in the user's reach) by
    this user. Two starts of the same selection by the same user meet one job."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    selection = {"all": True} if doctor_ids is None else {"ids": sorted({int(pk) for pk in doctor_ids})}
    return start_job(DOCTOR_EXPORT, params={"user": user.pk, "format": fmt, **selection}, user=user)


def starter_of(job, params):
    """The user who started the job, as he is now: still active staff with a role, else refused."""
    user = get_user_model().objects.filter(pk=params.get("user"), is_active=True, is_staff=True).first()
    if user is None or user.pk != job.started_by_id or user_role(user) is None:
        raise Refused(_("The user who started this export may no longer export; nothing was written."))
    return user


@register_job(DOCTOR_EXPORT, label=_("Doctor register export"))
def doctor_export_job(*, params, progress, job):
    user = starter_of(job, params)
    fmt = params.get("format", "csv")
    rows = Doctor.objects.all() if params.get("all") else Doctor.objects.filter(pk__in=params.get("ids") or [])
    rows = scope_doctors(rows, user)  # the reach as it is now, never the ids alone
    total = rows.count()
    progress(0, total=total)
    headers, body = doctor_export_rows(rows, user=user)

    def counted():
        for n, row in enumerate(body, 1):
            if n % EXPORT_PROGRESS_ROWS == 0:
                progress(n, total=total, note=gettext("%(n)s of %(total)s doctors") % {"n": n, "total": total})
            yield row

    content = doctor_export_content(fmt, headers, counted())
    name, content_type = FORMATS[fmt]
    stamp = f"{timezone.localtime():%Y%m%d-%H%M}"
    attach_file(job, name=name.replace(".", f"-{stamp}."), content=content, content_type=content_type)
    progress(total, total=total)
    return {
        "message": gettext("%(n)s doctors exported.") % {"n": total},
        "rows": total,
        "format": fmt,
        "exported_on": timezone.localdate().isoformat(),
    }
