"""Long work off the request path: a `Job` row per start, run by a Celery worker, with progress.

An app registers the function that does the work once, under a kind:

    @register_job("payroll.calculate", label=_("Pay run calculation"))
    def calculate(*, params, progress, job):
        run = PayRun.objects.get(pk=params["run_id"])
        for n, doctor in enumerate(doctors, 1):
            …
            progress(n, total=len(doctors), note=doctor.name)
        return {"payslips": n}            # JSON: shown on the job's page

and a view or admin action starts it:

    job = start_job("payroll.calculate", params={"run_id": run.pk}, user=request.user)
    return redirect(job_url(job))     # the progress page

- `start_job` writes the row (status queued) and sends the task once the caller's transaction
  commits. Two starts of the same work (same kind and dedupe key, by default the kind's parameters)
  while one is queued or running return the row already there: the partial unique constraint
  `job_active_once` decides under concurrency. Small work can call the function itself instead.
- `run_job_task` (Celery, `core.run_job`) claims the row (queued → running through the
  `JOB_FLOW` state machine), calls the function with a `progress(done, total=None, note="")`
  callback, and records the result (→ succeeded) or the error in the user's language (→ failed).
  It is safe to run twice: a finished job is left alone, a running one whose progress is fresher
  than JOBS_LEASE_SECONDS belongs to another worker; a running one that stopped moving (its worker
  died; acks_late redelivers the message) is taken over and its function run again, so job
  functions must themselves be idempotent (the pay run calculation and roster planning are).
- Listeners registered with `on_job_finished(func)` are called in the transaction that records
  the end (the operations app sends the starter an inbox notice from there; core imports no app).
- A job may leave one file (an export): `attach_file(job, name=…, content=…, content_type=…)`
  writes it to the private storage (core.storage, 0600) and replaces the one an earlier attempt
  left. Only the user who started the job may read it (`job_file_for`; not other staff, not a
  superuser: exports hold full ID and bank numbers), until JOBS_FILE_RETENTION_HOURS have passed;
  then the hourly sweep (operations.retention) deletes it from disk.
"""

import dataclasses
import datetime
import hashlib
import json
import logging
import re
import secrets
import unicodedata
from collections.abc import Callable
from pathlib import PurePosixPath

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.broker import publish_bounded
from core.db import is_postgres
from core.errors import DomainError, NotFound, Refused
from core.models import Job
from core.storage import private_storage
from core.transitions import StateMachine

logger = logging.getLogger(__name__)

JOB_FLOW = StateMachine(
    model=Job,
    allowed={
        Job.Status.QUEUED: {Job.Status.RUNNING, Job.Status.FAILED},
        # running → running: a redelivered task takes over a job whose worker died.
        Job.Status.RUNNING: {Job.Status.RUNNING, Job.Status.SUCCEEDED, Job.Status.FAILED},
    },
    audit_prefix="job",
)


@dataclasses.dataclass(frozen=True)
class JobSpec:
    kind: str
    func: Callable
    label: object  # a lazy translation: the task's name on its page ("工资计算")
    dedupe: Callable[[dict], str] | None = None  # params -> key; default: the parameters themselves


JOBS: dict[str, JobSpec] = {}
FINISH_LISTENERS: list[Callable] = []


def register_job(kind: str, *, label, dedupe: Callable[[dict], str] | None = None):
    """Register `func(*, params, progress, job) -> dict` as the work of `kind` (a decorator)."""

    def decorate(func):
        JOBS[kind] = JobSpec(kind=kind, func=func, label=label, dedupe=dedupe)
        return func

    return decorate


def on_job_finished(listener: Callable) -> Callable:
    """`listener(job)` is called when a job succeeds or fails, inside that transaction."""
    if listener not in FINISH_LISTENERS:
        FINISH_LISTENERS.append(listener)
    return listener


def job_spec(kind: str) -> JobSpec:
    try:
        return JOBS[kind]
    except KeyError:
        raise ValueError(f"no job registered under {kind!r}") from None


def job_label(job: Job) -> str:
    spec = JOBS.get(job.kind)
    return str(spec.label) if spec else job.kind


def default_dedupe_key(params: dict) -> str:
    text = json.dumps(params or {}, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


# --- Starting -------------------------------------------------------------------------------


def start_job(kind: str, *, params: dict | None = None, user=None, dedupe_key: str | None = None) -> Job:
    """The queued or running job of this work, created (and sent to a worker on commit) if none."""
    spec = job_spec(kind)
    params = dict(params or {})
    key = dedupe_key or (spec.dedupe(params) if spec.dedupe else default_dedupe_key(params))
    actor = user if getattr(user, "is_authenticated", False) else None
    existing = Job.objects.filter(kind=kind, dedupe_key=key, status__in=Job.ACTIVE).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            job = Job.objects.create(kind=kind, dedupe_key=key, params=params, started_by=actor)
    except IntegrityError:
        # Another start won the race between the look-up and the insert: theirs is the job.
        existing = Job.objects.filter(kind=kind, dedupe_key=key, status__in=Job.ACTIVE).first()
        if existing is None:
            raise
        return existing
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    # Never waits long for the broker (core.broker); if it is down the row stays queued and
    # `requeue_stale_jobs` sends it again.
    publish_bounded(lambda: run_job_task.apply_async(args=[job_id], retry=False), what=f"job {job_id}")


# --- Running --------------------------------------------------------------------------------


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.JOBS_LEASE_SECONDS)


def _claim(job_id: int) -> Job | None:
    """The job moved to running for this worker, or None when there is nothing for it to do."""
    with transaction.atomic():
        job = Job.objects.select_for_update(of=("self",)).filter(pk=job_id).first()
        if job is None or job.status not in Job.ACTIVE:
            return None
        now = timezone.now()
        if job.status == Job.Status.RUNNING and job.heartbeat_at and now - job.heartbeat_at < _lease():
            return None  # another worker is on it
        return JOB_FLOW.transition(
            job,
            to=Job.Status.RUNNING,
            kind="restarted" if job.status == Job.Status.RUNNING else "started",
            actor=None,
            lock=False,
            fields={"started_at": job.started_at or now, "heartbeat_at": now, "attempts": job.attempts + 1},
        )


class Progress:
    """The callback handed to a job function: `progress(done, total=None, note="")`. Writes at
    most every JOBS_PROGRESS_INTERVAL_SECONDS (and always the last step, done == total).

    On PostgreSQL a step taken inside the function's own transaction is written through a second
    connection in autocommit, so the progress page sees it before the work commits. (SQLite has
    one writer: there the step joins the function's transaction.)"""

    def __init__(self, job: Job):
        self.job = job
        self._written_at = None
        self._written_note = None
        self._side = None
        self._depth = len(connection.atomic_blocks)  # transactions open before the function ran

    def __call__(self, done: int, total: int | None = None, note: str = "") -> None:
        total = total if total is not None else self.job.total
        done = max(0, min(int(done), total)) if total is not None else max(0, int(done))
        now = timezone.now()
        self.job.done, self.job.total, self.job.note = done, total, str(note)[:200]
        interval = datetime.timedelta(seconds=settings.JOBS_PROGRESS_INTERVAL_SECONDS)
        # Throttled, except the last step and the first of a new stage (its note changes), so
        # the page never shows a finished stage's count while the next one runs.
        new_stage = self.job.note != self._written_note
        if self._written_at is not None and now - self._written_at < interval and done != total and not new_stage:
            return
        self._written_note = self.job.note
        self._written_at = now
        if len(connection.atomic_blocks) > self._depth and is_postgres(connection):
            self._write_aside(done, total, now)
            return
        # Only while this attempt still owns the row (a takeover raised `attempts`).
        Job.objects.filter(pk=self.job.pk, status=Job.Status.RUNNING, attempts=self.job.attempts).update(
            done=done, total=total, note=self.job.note, heartbeat_at=now
        )

    def _write_aside(self, done, total, now) -> None:
        if self._side is None:
            self._side = connections.create_connection("default")
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Job._meta.db_table} SET done = %s, total = %s, note = %s, heartbeat_at = %s "
                "WHERE id = %s AND status = %s AND attempts = %s",
                [done, total, self.job.note, now, self.job.pk, Job.Status.RUNNING, self.job.attempts],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def error_message(exc: BaseException) -> str:
    """What the user reads: a service's own refusal, else a general message (details in the log)."""
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ValidationError):
        return "；".join(str(m) for m in exc.messages)
    return _("The task stopped because of an unexpected error. The administrators have been told; try again later.")


def _finish(job: Job, *, to: str, result: dict | None = None, error: str = "") -> Job:
    with transaction.atomic():
        current = Job.objects.select_for_update(of=("self",)).get(pk=job.pk)
        if current.status != Job.Status.RUNNING or current.attempts != job.attempts:
            return current  # taken over by another attempt meanwhile: that one records the end
        fields = {"finished_at": timezone.now(), "result": result or {}, "error": error[:2000], "note": job.note,
                  "done": job.done, "total": job.total}  # fmt: skip
        if to == Job.Status.SUCCEEDED and job.total is not None:
            fields["done"] = job.total
        finished = JOB_FLOW.transition(current, to=to, actor=None, lock=False, fields=fields, reason=error[:500])
        for listener in FINISH_LISTENERS:
            listener(finished)
        return finished


def run_job(job_id: int) -> Job | None:
    """Claim the job, run its function, record the end. None when there was nothing to do."""
    job = _claim(job_id)
    if job is None:
        return None
    spec = JOBS.get(job.kind)
    if spec is None:
        return _finish(job, to=Job.Status.FAILED, error=_("This kind of task is not known to this server."))
    progress = Progress(job)
    try:
        result = spec.func(params=job.params, progress=progress, job=job)
    except Exception as exc:
        if not isinstance(exc, (DomainError, ValidationError)):
            logger.exception("job %s (%s) failed", job.pk, job.kind)
        return _finish(job, to=Job.Status.FAILED, error=error_message(exc))
    finally:
        progress.close()
    return _finish(job, to=Job.Status.SUCCEEDED, result=result if isinstance(result, dict) else {"value": result})


@shared_task(name="core.run_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job_task(job_id: int) -> str:
    job = run_job(job_id)
    return job.status if job is not None else "skipped"


def requeue_stale_jobs() -> int:
    """Send again the jobs nobody is working on: queued (the broker was down at the start) or
    running without progress for longer than the lease. Beat calls it (operations)."""
    cutoff = timezone.now() - _lease()
    ids = list(
        Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=cutoff).values_list("pk", flat=True)
    ) + list(Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", flat=True))
    for job_id in ids:
        _enqueue(job_id)
    return len(ids)


# --- The result file --------------------------------------------------------------------------

JOB_FILES_FOLDER = "jobs"
_UNSAFE_NAME_CHARACTERS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;%]')
_STORED_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*(; ?charset=[A-Za-z0-9_-]+)?")


class FileGone(Refused):
    """The file expired and was deleted (or is missing on disk): the export has to run again."""

    status = 410


def safe_file_name(name: str, *, fallback: str = "export") -> str:
    """The name the browser saves the file as: no folders, no control or shell-special characters,
    no leading dot, at most 150 characters (the extension kept)."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME_CHARACTERS.sub("_", name).strip(" ._")
    path = PurePosixPath(name or fallback)
    suffix = path.suffix if _STORED_SUFFIX.fullmatch(path.suffix or "") else ""
    stem = (path.stem if suffix else path.name).strip(" ._") or fallback
    return stem[: 150 - len(suffix)] + suffix.lower()


def job_files_folder(job_id: int) -> str:
    return f"{JOB_FILES_FOLDER}/{int(job_id)}"


def _delete_stored(name: str) -> None:
    if name:
        try:
            private_storage().delete(name)
        except OSError as exc:  # the hourly sweep removes what is left
            logger.warning("could not delete the job file %s (%s)", name, exc)


def attach_file(job: Job, *, name: str, content: bytes, content_type: str) -> None:
    """Keep `content` as the job's one result file, saved by the browser as `name`. A file left
    by an earlier attempt of the same job is replaced (deleted once this transaction commits). It
    may be downloaded by the starter until JOBS_FILE_RETENTION_HOURS from now."""
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise TypeError("a job file's content is bytes")
    content_type = str(content_type or "").strip().lower()
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise ValueError(f"not a content type: {content_type!r}")
    content = bytes(content)
    display = safe_file_name(name)
    suffix = PurePosixPath(display).suffix
    storage = private_storage()
    folder = job_files_folder(job.pk)
    storage.ensure_directory(folder)
    # The stored name is random: nothing the job's data says reaches the disk's paths.
    stored = storage.save(f"{folder}/{secrets.token_hex(16)}{suffix}", ContentFile(content))
    expires = timezone.now() + datetime.timedelta(hours=settings.JOBS_FILE_RETENTION_HOURS)
    fields = {"file": stored, "file_name": display, "file_size": len(content),
              "file_content_type": content_type, "file_expires_at": expires}  # fmt: skip
    try:
        with transaction.atomic():
            current = Job.objects.select_for_update(of=("self",)).filter(pk=job.pk).first()
            if current is None:
                raise NotFound(_("No such task."))
            if job.attempts and current.attempts != job.attempts:
                # A later attempt took the job over: its file is the one that counts.
                _delete_stored(stored)
                return
            previous = current.file.name
            Job.objects.filter(pk=job.pk).update(**fields)
    except BaseException:
        _delete_stored(stored)
        raise
    if previous and previous != stored:
        transaction.on_commit(lambda: _delete_stored(previous))
    for field, value in fields.items():
        setattr(job, field, value)


@dataclasses.dataclass(frozen=True)
class JobFile:
    job: Job
    name: str
    content_type: str
    size: int

    def open(self):
        return private_storage().open(self.job.file.name, "rb")


def file_available(job: Job, *, now: datetime.datetime | None = None) -> bool:
    return bool(job.file.name) and job.file_expires_at is not None and job.file_expires_at > (now or timezone.now())


def job_file_for(*, user, job_id: int) -> JobFile:
    """The result file of a job, for the user who started it and nobody else (NotFound: other
    staff and superusers are not told the file exists). FileGone once it has expired."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound(_("No such file."))
    job = Job.objects.filter(pk=job_id, started_by=user).exclude(file_name="").first()
    if job is None:
        raise NotFound(_("No such file."))
    if job.status != Job.Status.SUCCEEDED:
        raise Refused(_("The task has not finished successfully, so its file cannot be downloaded."))
    if not file_available(job) or not private_storage().exists(job.file.name):
        raise FileGone(
            _("This file was deleted: task files are kept for %(hours)s hours. Run the export again to get a new one.")
            % {"hours": settings.JOBS_FILE_RETENTION_HOURS}
        )
    return JobFile(job=job, name=job.file_name, content_type=job.file_content_type, size=job.file_size or 0)


def job_file_state(job: Job, *, user=None) -> dict | None:
    """What the starter is shown about the file (nobody else is shown anything)."""
    if not job.file_name or user is None or job.started_by_id is None or job.started_by_id != getattr(user, "pk", None):
        return None
    return {
        "name": job.file_name,
        "size": job.file_size if job.file.name else None,
        "content_type": job.file_content_type,
        "expires_at": job.file_expires_at.isoformat() if job.file_expires_at else None,
        "available": job.status == Job.Status.SUCCEEDED and file_available(job),
    }


# --- Reading --------------------------------------------------------------------------------


def job_list(*, user):
    """The jobs `user` started (a superuser sees everyone's), newest first."""
    rows = Job.objects.select_related("started_by")
    if not user.is_superuser:
        rows = rows.filter(started_by=user)
    return rows


def job_get(*, user, job_id: int) -> Job:
    job = job_list(user=user).filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("No such task."))
    return job


ESTIMATE_AFTER = 0.02  # share of the work done before an estimate of the time left is shown


def estimate_remaining(job: Job, *, now: datetime.datetime | None = None) -> float | None:
    """Seconds left at the rate so far, or None when there is no rate yet: nothing done, or less
    than ESTIMATE_AFTER of it (the first steps follow a reading stage that has no count, so
    their rate would promise days)."""
    if job.status != Job.Status.RUNNING or not job.total or not job.done or job.started_at is None:
        return None
    if job.done < job.total * ESTIMATE_AFTER:
        return None
    elapsed = ((now or timezone.now()) - job.started_at).total_seconds()
    if elapsed <= 0:
        return None
    return max(0.0, (job.total - job.done) * elapsed / job.done)


def job_state(job: Job, *, user=None) -> dict:
    """The JSON the progress page polls (`user`: the reader; the file is shown to its starter only)."""
    percent = round(100 * job.done / job.total) if job.total else (100 if job.status == Job.Status.SUCCEEDED else None)
    remaining = estimate_remaining(job)
    return {
        "id": job.pk,
        "kind": job.kind,
        "label": job_label(job),
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "done": job.done,
        "total": job.total,
        "percent": percent,
        "note": job.note,
        "remaining_seconds": round(remaining) if remaining is not None else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "finished": job.status not in Job.ACTIVE,
        "result": job.result,
        "error": job.error,
        "file": job_file_state(job, user=user),
    }
