"""What is kept, and for how long (settings RETENTION_*), applied daily by beat:

- outbox rows that were delivered or cancelled: purged after RETENTION_OUTBOX_DAYS
  (`notifications.retention`); pending and failed rows stay.
- sessions: expired ones deleted after RETENTION_EXPIRED_SESSIONS_DAYS.
- finished background tasks (`core.Job`): deleted after RETENTION_JOBS_DAYS, their file with them.
- a task's result file (an export, on the private storage): deleted from disk once
  JOBS_FILE_RETENTION_HOURS have passed, hourly (`job_files_sweep`); the row keeps the file's
  name, so its page says the file is gone. Files under the jobs folder that no row points to
  (a purged row, an attempt rolled back) are removed once older than an hour.
- the audit trail: kept RETENTION_AUDIT_YEARS years, then archived — written to a gzip file of
  JSON lines under VAR_DIR/archive (owner-only), read back and compared row by row, and only then
  deleted. Never deleted without its archive.
- the answers kept for an `Idempotency-Key` (`core.idempotency`): deleted once expired
  (IDEMPOTENCY_KEY_TTL_HOURS; an expired key is ignored even before).
- API tokens: deleted RETENTION_API_TOKENS_DAYS after they expired (`core.tokens`), so the token
  list shows a terminal's expired token for a while; each issue and revocation stays in the audit trail.
- the settlement log: its monthly partitions are created ahead (settlements.create_partitions)
  and never dropped or detached by the application (tests/operations/test_retention.py checks).
"""

import datetime
import gzip
import hashlib
import json
import os
from pathlib import Path

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from core.idempotency import idempotency_keys_purge
from core.jobs import JOB_FILES_FOLDER
from core.models import AuditEntry, Job
from core.storage import private_storage
from core.tokens import api_tokens_purge
from notifications.retention import outbox_purge


class ArchiveMismatch(Exception):
    pass


def _audit_line(row: dict) -> str:
    row = {**row, "at": row["at"].isoformat()}
    return json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)


def archive_directory() -> Path:
    directory = Path(settings.VAR_DIR) / "archive"
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


def _years_before(moment: datetime.datetime, years: int) -> datetime.datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


AUDIT_FIELDS = ("id", "at", "actor_id", "action", "content_type_id", "object_id", "object_repr", "changes", "reason")


def audit_archive(*, now: datetime.datetime | None = None, years: int | None = None, limit: int | None = None) -> dict:
    """Archive (then delete) the audit rows older than `years` years, at most `limit` per run.
    Returns {"archived": n, "file": path or None}."""
    now = now or timezone.now()
    years = settings.RETENTION_AUDIT_YEARS if years is None else years
    limit = settings.RETENTION_AUDIT_BATCH if limit is None else limit
    cutoff = _years_before(now, years)
    old = AuditEntry.objects.filter(at__lt=cutoff).order_by("at", "id")
    rows = list(old.values(*AUDIT_FIELDS)[:limit])
    if not rows:
        return {"archived": 0, "file": None}
    path = archive_directory() / f"audit-before-{cutoff:%Y%m%d}-{now:%Y%m%dT%H%M%S}.jsonl.gz"
    written = hashlib.sha256()
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with gzip.open(path, "wt", encoding="utf-8") as archive:
        for row in rows:
            line = _audit_line(row)
            written.update(line.encode())
            archive.write(line + "\n")
    # Read back what was written, before anything is deleted.
    read_digest, ids = _read_back(path)
    if read_digest != written.hexdigest() or ids != [row["id"] for row in rows]:
        raise ArchiveMismatch(f"{path} does not read back as written; nothing was deleted")
    deleted = 0
    for start in range(0, len(ids), 1000):
        deleted += AuditEntry.objects.filter(pk__in=ids[start : start + 1000], at__lt=cutoff).delete()[0]
    return {"archived": deleted, "file": str(path)}


def _read_back(path: Path) -> tuple[str, list[int]]:
    digest, ids = hashlib.sha256(), []
    with gzip.open(path, "rt", encoding="utf-8") as archive:
        for line in archive:
            line = line.rstrip("\n")
            digest.update(line.encode())
            ids.append(json.loads(line)["id"])
    return digest.hexdigest(), ids


def sessions_purge(*, now: datetime.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.RETENTION_EXPIRED_SESSIONS_DAYS)
    return Session.objects.filter(expire_date__lt=cutoff).delete()[0]


def _delete_files(names) -> int:
    storage, deleted = private_storage(), 0
    for name in names:
        if name and storage.exists(name):
            storage.delete(name)
            deleted += 1
    return deleted


def jobs_purge(*, now: datetime.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.RETENTION_JOBS_DAYS)
    old = Job.objects.exclude(status__in=Job.ACTIVE).filter(finished_at__lt=cutoff)
    files = list(old.exclude(file="").values_list("file", flat=True))
    purged = old.delete()[0]
    _delete_files(files)
    return purged


ORPHAN_GRACE = datetime.timedelta(hours=1)  # a file being attached is on disk a moment before its row


def job_files_sweep(*, now: datetime.datetime | None = None) -> dict:
    """Delete expired job files from disk (the row keeps the name and says it is gone) and the
    files under the jobs folder that no row points to. Returns the counts."""
    now = now or timezone.now()
    expired = Job.objects.exclude(file="").filter(file_expires_at__lte=now)
    rows = list(expired.values_list("pk", "file"))
    _delete_files(name for _pk, name in rows)
    cleared = Job.objects.filter(pk__in=[pk for pk, _name in rows]).update(
        file="", file_size=None, file_content_type="", file_expires_at=None
    )
    return {"expired": cleared, "orphans": _remove_orphans(now=now)}


def _remove_orphans(*, now: datetime.datetime) -> int:
    root = Path(private_storage().location) / JOB_FILES_FOLDER
    if not root.is_dir():
        return 0
    known = set(Job.objects.filter(file__startswith=f"{JOB_FILES_FOLDER}/").values_list("file", flat=True))
    cutoff = (now - ORPHAN_GRACE).timestamp()
    removed = 0
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_symlink() or path.is_file():
            name = path.relative_to(root.parent).as_posix()
            if name not in known and path.lstat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        elif path.is_dir() and not any(path.iterdir()) and path.stat().st_mtime < cutoff:
            path.rmdir()
    return removed


def apply_retention(*, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    return {
        "outbox": outbox_purge(older_than=datetime.timedelta(days=settings.RETENTION_OUTBOX_DAYS), now=now),
        "sessions": sessions_purge(now=now),
        "jobs": jobs_purge(now=now),
        "audit": audit_archive(now=now),
        "idempotency_keys": idempotency_keys_purge(now=now),
        "api_tokens": api_tokens_purge(now=now),
    }
