"""Retention: what is purged after its age, the audit trail archived before it is deleted, and
the settlement log's partitions created ahead and never dropped by the application."""

import ast
import datetime
import gzip
import json
import re
import stat
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.utils import timezone

from core.models import AuditEntry, Job
from notifications.models import Notification
from operations import retention

NOW = timezone.make_aware(datetime.datetime(2026, 11, 30, 3, 30))


def _notification(user, *, status, at, n):
    return Notification.objects.create(
        recipient=user, channel="in_app", kind="consult_booked", content_type=ContentType.objects.get_for_model(user),
        object_id=n, dedupe_key="now", due_at=at, next_attempt_at=at, subject="s", body="b", status=status,
        sent_at=at if status == "sent" else None,
    )  # fmt: skip


@pytest.mark.django_db
def test_delivered_and_cancelled_outbox_rows_go_after_their_age_and_the_rest_stay(staff_user, settings):
    settings.RETENTION_OUTBOX_DAYS = 180
    old, recent = NOW - datetime.timedelta(days=181), NOW - datetime.timedelta(days=179)
    gone = [_notification(staff_user, status="sent", at=old, n=1), _notification(staff_user, status="cancelled", at=old, n=2)]
    kept = [
        _notification(staff_user, status="sent", at=recent, n=3),
        _notification(staff_user, status="pending", at=old, n=4),  # still to be sent
        _notification(staff_user, status="failed", at=old, n=5),  # an admin's to retry
    ]
    result = retention.apply_retention(now=NOW)
    assert result["outbox"] == 2
    remaining = set(Notification.objects.values_list("pk", flat=True))
    assert remaining == {row.pk for row in kept} and not remaining & {row.pk for row in gone}


@pytest.mark.django_db
def test_expired_sessions_and_old_finished_jobs_are_purged(settings):
    settings.RETENTION_EXPIRED_SESSIONS_DAYS = 7
    settings.RETENTION_JOBS_DAYS = 90
    for key, expires in (("old", NOW - datetime.timedelta(days=8)), ("recent", NOW - datetime.timedelta(days=1)),
                         ("live", NOW + datetime.timedelta(hours=1))):  # fmt: skip
        Session.objects.create(session_key=key, session_data="x", expire_date=expires)
    Job.objects.create(kind="x", dedupe_key="a", status="succeeded", finished_at=NOW - datetime.timedelta(days=91))
    Job.objects.create(kind="x", dedupe_key="b", status="failed", finished_at=NOW - datetime.timedelta(days=10))
    Job.objects.create(kind="x", dedupe_key="c", status="running")
    result = retention.apply_retention(now=NOW)
    assert result["sessions"] == 1 and result["jobs"] == 1
    assert set(Session.objects.values_list("session_key", flat=True)) == {"recent", "live"}
    assert set(Job.objects.values_list("dedupe_key", flat=True)) == {"b", "c"}


def _audit(at, action, user):
    return AuditEntry.objects.create(at=at, action=action, content_type=ContentType.objects.get_for_model(user),
                                     object_id=str(user.pk), object_repr="某人", changes={"状态": ["a", "b"]})  # fmt: skip


@pytest.mark.django_db
def test_old_audit_rows_are_archived_verified_then_deleted(staff_user, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.RETENTION_AUDIT_YEARS = 10
    old = [_audit(NOW.replace(year=2015), "old.one", staff_user), _audit(NOW.replace(year=2016, month=1), "old.two", staff_user)]
    young = _audit(NOW.replace(year=2017), "young", staff_user)
    result = retention.audit_archive(now=NOW)
    assert result["archived"] == 2
    path = Path(result["file"])
    assert path.parent == tmp_path / "archive" and stat.S_IMODE(path.stat().st_mode) == 0o600
    with gzip.open(path, "rt", encoding="utf-8") as archive:
        lines = [json.loads(line) for line in archive]
    assert [line["id"] for line in lines] == [row.pk for row in old]
    assert lines[0]["action"] == "old.one" and lines[0]["changes"] == {"状态": ["a", "b"]} and lines[0]["object_repr"] == "某人"
    assert list(AuditEntry.objects.filter(action__in=["old.one", "old.two", "young"]).values_list("pk", flat=True)) == [young.pk]
    assert retention.audit_archive(now=NOW) == {"archived": 0, "file": None}


@pytest.mark.django_db
def test_an_archive_that_does_not_read_back_deletes_nothing(staff_user, settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    row = _audit(NOW.replace(year=2010), "old", staff_user)
    monkeypatch.setattr(retention, "_read_back", lambda path: ("0" * 64, [row.pk]))
    with pytest.raises(retention.ArchiveMismatch):
        retention.audit_archive(now=NOW, years=10)
    assert AuditEntry.objects.filter(pk=row.pk).exists()


# --- The settlement log's partitions ----------------------------------------------------------

APP_PACKAGES = ["core", "clinics", "staffing", "telemedicine", "notifications", "dashboard", "operations", "config"]
PARTITION_NAME = re.compile(r"settlementrecord|\{TABLE\}|_p\d{4}|partition", re.IGNORECASE)


def _module_constants(tree) -> dict[str, str]:
    constants = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def _sql_texts(path: Path):
    """Every string literal of a module, f-strings with their module-level constants filled in."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _module_constants(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    parts.append(str(value.value))
                elif isinstance(value.value, ast.Name):
                    parts.append(constants.get(value.value.id, "{" + value.value.id + "}"))
                else:
                    parts.append("{?}")
            yield "".join(parts)


def test_no_application_code_drops_or_detaches_a_settlement_partition():
    root = Path(django_settings.BASE_DIR)
    dropped, seen_drops = [], 0
    for package in APP_PACKAGES:
        for path in (root / package).rglob("*.py"):
            in_migration = "migrations" in path.parts
            roster_loader = path == root / "staffing" / "rosters" / "bulk.py"
            if roster_loader:
                # The province roster load swaps a month's partition of the duty table (issue 18); it
                # must never name the settlement log.
                assert "settlement" not in path.read_text(encoding="utf-8").lower()
            for text in _sql_texts(path):
                if not roster_loader:
                    assert not re.search(r"DETACH\s+PARTITION", text, re.IGNORECASE), f"{path}: {text[:120]}"
                if in_migration:
                    continue  # schema changes (the partitioning migration itself) are not the application
                for match in re.finditer(r"DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([^;\n]+)", text, re.IGNORECASE):
                    seen_drops += 1
                    if PARTITION_NAME.search(match[1]):
                        dropped.append(f"{path.relative_to(root)}: {match[0]}")
    assert dropped == []
    assert seen_drops >= 2  # the scan does see the staging tables the ingest drops


def test_partitions_are_created_ahead_by_a_beat_task():
    from config.celery import app

    entries = [entry for entry in django_settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == "settlements.create_partitions"]
    assert len(entries) == 1
    app.loader.import_default_modules()
    assert "settlements.create_partitions" in app.tasks


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_partition_task_covers_the_coming_months():
    from clinics.settlements.partitions import existing_partition_months
    from clinics.settlements.tasks import create_settlement_partitions_task
    from core.months import add_months, month_start

    create_settlement_partitions_task()
    first = month_start(timezone.localdate())
    assert {add_months(first, n) for n in range(-1, 4)} <= existing_partition_months()
