"""Seed step: the built-in Chinese templates, so an admin can read (and adjust) every kind's text."""

from notifications.default_templates import DEFAULT_TEMPLATES
from notifications.models import NotificationTemplate


def seed_templates(counts: dict) -> None:
    existing = set(NotificationTemplate.objects.values_list("kind", flat=True))
    missing = [
        NotificationTemplate(kind=kind, subject=subject, body=body)
        for kind, (subject, body) in DEFAULT_TEMPLATES.items()
        if kind not in existing
    ]
    NotificationTemplate.objects.bulk_create(missing)
    counts["notification templates created"] = counts.get("notification templates created", 0) + len(missing)
    counts["notification templates existing"] = counts.get("notification templates existing", 0) + len(existing)
