"""The one way payroll's services save an entered row: validated, saved, audited with its changes."""

from core.audit import audit_record, changed_fields, snapshot


def save_audited(obj, *, fields: list[str], action: str, acting_user, author_field: str | None = None):
    """Save `obj` (already validated by the caller) with an audit record `<action>.create` or
    `<action>.update` naming the changed `fields`; on creation stamp the author in `author_field`."""
    before = snapshot(type(obj).objects.get(pk=obj.pk), fields) if obj.pk else {}
    created = obj.pk is None
    if created and author_field:
        setattr(obj, author_field, acting_user if getattr(acting_user, "is_authenticated", False) else None)
    obj.save()
    audit_record(actor=acting_user, action=f"{action}.create" if created else f"{action}.update", target=obj,
                 changes=changed_fields(before, snapshot(obj, fields)))
    return obj
