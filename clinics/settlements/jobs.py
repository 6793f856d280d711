"""Settlement work off the request path (issue #19).

- `settlements.import`: an admin's settlement file above SETTLEMENT_JOB_THRESHOLD_BYTES is stored
  under VAR_DIR/uploads/settlements and imported by a worker through the same service as a small
  file (`settlements_import`, one transaction: a file that cannot be read leaves nothing behind).
  The import is idempotent on setl_id, so a takeover's second run counts the rows as duplicates
  — it does not record them twice. The stored file is removed once the job has ended.
- `settlements.reconcile`: computing Cunyi's side of 3201 for a period (every clinic in the
  starter's reach) when at least RECONCILE_JOB_MIN_CLINICS clinics settled in its months (fewer
  stay immediate); `reconciliation_compute` recomputes in place and keeps the platform's answers
  of unchanged lines, so running it again is harmless.

- `settlements.discrepancy_export`: the reconciliation's detail lines that did not match (the
  "detail" export of a month, up to 100,000 lines) when there are at least EXPORT_JOB_MIN_ROWS of
  them in the user's reach; fewer stay immediate. The job takes its starter's id and derives the
  clinics in reach again when it runs (a township admin's file holds his township's lines only);
  the XLSX is the job's private file, for the starter only.

The API upload stays in the request: it takes at most MAX_API_ROWS (5,000) settlements and a body
within DATA_UPLOAD_MAX_MEMORY_SIZE, a terminal's batch of a second or two; a larger request is
refused (400) with the advice to send fewer per request, not queued."""

import datetime
import hashlib
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.scoping import is_county_wide, reach_filter, user_role
from clinics.settlements.models import Reconciliation, ReconciliationItem, SettlementMonthStat
from clinics.settlements.partitions import month_start
from clinics.settlements.selectors import discrepancy_rows
from clinics.settlements.services import reconciliation_compute, settlements_import
from core.errors import Refused
from core.jobs import attach_file, on_job_finished, register_job, start_job
from core.tabular import INT, MONEY, TEXT, xlsx_bytes

IMPORT = "settlements.import"
RECONCILE = "settlements.reconcile"
DISCREPANCY_EXPORT = "settlements.discrepancy_export"
EXPORT_PROGRESS_ROWS = 1000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload_dir() -> Path:
    return Path(settings.VAR_DIR) / "uploads" / "settlements"


def is_large(upload) -> bool:
    return (getattr(upload, "size", 0) or 0) > settings.SETTLEMENT_JOB_THRESHOLD_BYTES


def _acting_user(job):
    return get_user_model().objects.filter(pk=job.started_by_id).first() if job.started_by_id else None


def settlement_import_start(*, upload, user):
    """Store the uploaded file and start the job that imports it. The same file sent again while
    its import is queued or running joins that job (the dedupe key is the file's SHA-256)."""
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.name).suffix.lower()[:8]
    stored = folder / f"{uuid.uuid4().hex}{suffix}"
    digest = hashlib.sha256()
    with stored.open("wb") as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            out.write(chunk)
    try:
        job = start_job(IMPORT, params={"stored": stored.name, "filename": upload.name[:200]}, user=user,
                        dedupe_key=f"{digest.hexdigest()[:32]}:{suffix}")
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    if job.params.get("stored") != stored.name:
        stored.unlink(missing_ok=True)  # the running job has its own copy
    return job


@register_job(IMPORT, label=_("Settlement file import"))
def settlement_import_job(*, params, progress, job):
    path = upload_dir() / Path(params["stored"]).name
    progress(0, total=1, note=params["filename"])
    batch = settlements_import(source="upload", acting_user=_acting_user(job), data=path.read_bytes(),
                               filename=params["filename"])
    progress(1, total=1, note=params["filename"])
    return {
        "message": gettext("%(accepted)s accepted, %(duplicates)s duplicates (already recorded, unchanged), "
                           "%(rejected)s rejected.")
        % {"accepted": batch.accepted, "duplicates": batch.duplicates, "rejected": batch.rejected},
        "batch": batch.pk,
        "accepted": batch.accepted,
        "duplicates": batch.duplicates,
        "rejected": batch.rejected,
        "url": reverse("admin:settlements_settlementimport_change", args=[batch.pk]),
    }


@on_job_finished
def _remove_stored_file(job) -> None:
    if job.kind == IMPORT:
        path = upload_dir() / Path(job.params.get("stored", "")).name
        transaction.on_commit(lambda: path.unlink(missing_ok=True) if path.is_file() else None)


def reconcile_as_job(*, begin: datetime.date, end: datetime.date, user) -> bool:
    """A job once RECONCILE_JOB_MIN_CLINICS clinics in the user's reach settled in the period's
    months (read from the monthly rollup: cheap), immediate below."""
    stats = SettlementMonthStat.objects.filter(month__gte=month_start(begin), month__lte=month_start(end))
    condition = reach_filter(user, "facility")
    if condition is not None:
        stats = stats.filter(condition)
    return stats.values("facility_id").distinct().count() >= settings.RECONCILE_JOB_MIN_CLINICS


def reconciliation_start(*, begin: datetime.date, end: datetime.date, user):
    """The job computing the period's 3201 lines for the starter's reach; one per period and starter."""
    return start_job(RECONCILE, params={"begin": f"{begin:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"}, user=user,
                     dedupe_key=f"reconcile:{begin:%Y-%m-%d}:{end:%Y-%m-%d}:{user.pk}")


@register_job(RECONCILE, label=_("Reconciliation with the platform: Cunyi's 3201 figures"))
def reconciliation_job(*, params, progress, job):
    begin, end = datetime.date.fromisoformat(params["begin"]), datetime.date.fromisoformat(params["end"])
    user = _acting_user(job)
    if user is None or user_role(user) is None:
        raise Refused(_("The user who started this reconciliation may no longer run it; nothing was written."))
    note = f"{begin:%Y-%m-%d}..{end:%Y-%m-%d}"
    progress(0, total=1, note=note)
    results = reconciliation_compute(begin=begin, end=end, acting_user=user)
    progress(len(results), total=len(results) or 1, note=note)
    return {
        "message": gettext("%(period)s: Cunyi's 3201 figures computed for %(total)s clinics; send them to the platform "
                           "and record its answers.") % {"period": note, "total": len(results)},
        "clinics": len(results),
        "url": reverse("admin:settlements_reconciliation_changelist") + f"?month={begin:%Y-%m}",
    }


# --- The detail lines of a month's reconciliation, as a file -----------------------------------


def discrepancy_facility_ids(*, user, month) -> list[int] | None:
    """The clinics whose lines `user` may export for `month` (None: every clinic, county-wide)."""
    if is_county_wide(user):
        return None
    results = Reconciliation.objects.filter(month=month_start(month))
    condition = reach_filter(user, "facility")
    return list((results if condition is None else results.filter(condition)).values_list("facility_id", flat=True))


def discrepancy_count(*, month, facility_ids) -> int:
    items = ReconciliationItem.objects.filter(reconciliation__month=month_start(month)).exclude(
        status=ReconciliationItem.Status.MATCHED
    )
    if facility_ids is not None:
        items = items.filter(reconciliation__facility_id__in=facility_ids)
    return items.count()


def discrepancy_kinds() -> dict:
    """Codes as text (leading zeros kept), amounts as money, the platform's memo as text (a memo
    like “=cmd|…” is neutralised by the writer, never run as a formula)."""
    return {**dict.fromkeys([gettext("Clinic code"), gettext("setl_id"), gettext("mdtrt_id"), gettext("psn_no"),
                             gettext("stmt_rslt"), gettext("memo"), gettext("What to do")], TEXT),
            gettext("Row"): INT,
            **dict.fromkeys([gettext("Total fees here"), gettext("Total fees at bureau"), gettext("Difference"),
                             gettext("Funds here"), gettext("Funds at bureau")], MONEY)}


def discrepancy_xlsx(headers, rows) -> bytes:
    return xlsx_bytes(headers, rows, sheet_title=gettext("Discrepancies"), kinds=discrepancy_kinds())


def discrepancy_export_as_job(*, month, user) -> bool:
    return discrepancy_count(month=month, facility_ids=discrepancy_facility_ids(user=user, month=month)) >= (
        settings.EXPORT_JOB_MIN_ROWS
    )


def discrepancy_export_start(*, month, user):
    return start_job(DISCREPANCY_EXPORT, params={"month": f"{month_start(month):%Y-%m}", "user": user.pk}, user=user)


@register_job(DISCREPANCY_EXPORT, label=_("Reconciliation detail lines export"))
def discrepancy_export_job(*, params, progress, job):
    user = get_user_model().objects.filter(pk=params.get("user"), is_active=True, is_staff=True).first()
    if (user is None or user.pk != job.started_by_id or user_role(user) is None
            or not user.has_perm("settlements.view_reconciliation")):  # fmt: skip
        raise Refused(_("The user who started this export may no longer export; nothing was written."))
    year, month_number = (int(part) for part in params["month"].split("-"))
    month = datetime.date(year, month_number, 1)
    facility_ids = discrepancy_facility_ids(user=user, month=month)  # the reach as it is now
    headers, rows = discrepancy_rows(month, facility_ids)
    total = len(rows)
    progress(0, total=total, note=params["month"])

    def counted():
        for n, row in enumerate(rows, 1):
            if n % EXPORT_PROGRESS_ROWS == 0:
                progress(n, total=total, note=params["month"])
            yield row

    attach_file(job, name=f"reconciliation-{params['month']}-lines.xlsx", content=discrepancy_xlsx(headers, counted()),
                content_type=XLSX)
    progress(total, total=total, note=params["month"])
    return {"message": gettext("%(n)s detail lines exported.") % {"n": total}, "rows": total, "month": params["month"]}
