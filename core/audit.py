"""The audit trail: services call `audit_record` inside their transaction."""

import datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType

from core.models import AuditEntry


def _jsonable(value):
    if isinstance(value, (Decimal, datetime.date, datetime.datetime, datetime.time)):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def snapshot(instance, fields) -> dict:
    return {field: _jsonable(getattr(instance, field)) for field in fields}


def changed_fields(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def audit_record(*, actor, action: str, target, changes: dict | None = None, reason: str = "") -> AuditEntry:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        content_type=ContentType.objects.get_for_model(target.__class__),
        object_id=str(target.pk),
        object_repr=str(target)[:200],
        changes={k: [_jsonable(v) for v in pair] if isinstance(pair, (list, tuple)) else _jsonable(pair) for k, pair in (changes or {}).items()},
        reason=reason,
    )


def audit_bulk(*, actor, action: str, targets, changes: dict | None = None, reason: str = "") -> int:
    """One audit row per object of a bulk write (queryset update, bulk create)."""
    targets = list(targets)
    if not targets:
        return 0
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    content_type = ContentType.objects.get_for_model(targets[0].__class__)
    payload = {k: _jsonable(v) for k, v in (changes or {}).items()}
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor=actor,
                action=action,
                content_type=content_type,
                object_id=str(t.pk),
                object_repr=str(t)[:200],
                changes=payload,
                reason=reason,
            )
            for t in targets
        ],
        batch_size=1000,
    )
    return len(targets)
