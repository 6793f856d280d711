"""The audit trail: services call `audit_record` inside their transaction."""

import datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from core.bulk import bulk_insert
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


def audit_bulk(*, actor, action: str, targets, changes: dict | None = None, reason: str = "", model=None) -> int:
    """One audit row per object of a bulk write (queryset update, bulk create). `targets` are
    model instances or, with `model` given, (pk, name) pairs: a pay run's 28,000 payslips need no
    instances. The rows go in one statement (`core.bulk`)."""
    if model is None:
        targets = list(targets)
        model = type(targets[0]) if targets else None
        items = [(t.pk, str(t)) for t in targets]
    else:
        items = list(targets)
    if not items:
        return 0
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    content_type_id = ContentType.objects.get_for_model(model).pk
    payload = {k: _jsonable(v) for k, v in (changes or {}).items()}
    at, actor_id = timezone.now(), getattr(actor, "pk", None)
    action, reason = str(action), str(reason)  # a lazy translation is text once, not a proxy per row
    bulk_insert(
        AuditEntry,
        ["at", "actor", "action", "content_type", "object_id", "object_repr", "changes", "reason"],
        [(at, actor_id, action, content_type_id, str(pk), name[:200], payload, reason) for pk, name in items],
    )
    return len(items)
