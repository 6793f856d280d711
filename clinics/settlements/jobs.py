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

The API upload stays in the request: it takes at most MAX_API_ROWS (5,000) settlements and a body
within DATA_UPLOAD_MAX_MEMORY_SIZE, a terminal's batch of a second or two; a larger request is
refused (400) with the advice to send fewer per request, not queued."""

import hashlib
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.settlements.models import BureauStatement
from clinics.settlements.services import reconciliation_run, settlements_import
from core.jobs import on_job_finished, register_job, start_job

IMPORT = "settlements.import"
RECONCILE = "settlements.reconcile"


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
