"""Settlement work off the request path (issue #19).

- `settlements.import`: an admin's settlement file above SETTLEMENT_JOB_THRESHOLD_BYTES is stored
  under VAR_DIR/uploads/settlements and imported by a worker through the same service as a small
  file (`settlements_import`, one transaction: a file that cannot be read leaves nothing behind).
  The import is idempotent on setl_id, so a takeover's second run counts the rows as duplicates
  — it does not record them twice. The stored file is removed once the job has ended.
- `settlements.reconcile`: reconciling a month (every clinic of the county) with the bureau's
  statement, which the run page has stored already, when the statement names at least
  RECONCILE_JOB_MIN_CLINICS clinics (fewer stay immediate); `reconciliation_run` replaces the month's
  earlier result, so running it again is harmless.

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
from clinics.settlements.models import BureauStatement, Reconciliation, ReconciliationItem
from clinics.settlements.partitions import month_start
from clinics.settlements.selectors import discrepancy_rows
from clinics.settlements.services import reconciliation_run, settlements_import
from core.errors import Refused
from core.jobs import attach_file, on_job_finished, register_job, start_job
from core.tabular import MONEY, TEXT, xlsx_bytes

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


def reconcile_as_job(statement: BureauStatement) -> bool:
    """A reconciliation is always the whole county's month; it is a job once the statement names
    RECONCILE_JOB_MIN_CLINICS clinics or more (a province's month), immediate below."""
    return statement.totals.values("facility_id").distinct().count() >= settings.RECONCILE_JOB_MIN_CLINICS


def reconciliation_start(*, statement: BureauStatement, user):
    """The job reconciling the statement's month for the whole county; one per month at a time."""
    return start_job(RECONCILE, params={"statement": statement.pk, "month": f"{statement.month:%Y-%m}"}, user=user,
                     dedupe_key=f"reconcile:{statement.month:%Y-%m}:county")


@register_job(RECONCILE, label=_("Reconciliation with the bureau (whole county)"))
def reconciliation_job(*, params, progress, job):
    statement = BureauStatement.objects.get(pk=params["statement"])
    clinics = statement.totals.values("facility_id").distinct().count()
    progress(0, total=clinics or 1, note=params["month"])
    results = reconciliation_run(statement=statement, acting_user=_acting_user(job))
    balanced = sum(r.balanced for r in results)
    progress(len(results), total=len(results), note=params["month"])
    return {
        "message": gettext("%(month)s reconciled: %(balanced)s of %(total)s clinics balanced.")
        % {"month": f"{statement.month:%Y-%m}", "balanced": balanced, "total": len(results)},
        "clinics": len(results),
        "balanced": balanced,
        "url": reverse("admin:settlements_reconciliation_changelist") + f"?month={statement.month:%Y-%m}",
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


def discrepancy_xlsx(headers, rows) -> bytes:
    kinds = {gettext("Clinic code"): TEXT, gettext("setl_id"): TEXT, **dict.fromkeys(
        [gettext("Total fees here"), gettext("Total fees at bureau"), gettext("Funds here"),
         gettext("Funds at bureau")], MONEY)}  # fmt: skip
    return xlsx_bytes(headers, rows, sheet_title=gettext("Discrepancies"), kinds=kinds)


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
