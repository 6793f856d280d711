"""Reads. A user's inbox is their own delivered in-app messages; nobody reads another's inbox, so
the scope is the recipient rather than a facility's reach."""

from django.db.models import QuerySet

from notifications.models import Channel, Notification, NotificationPreference

READ_FILTERS = ("all", "unread", "read")


def inbox_list(*, user, read: str = "all") -> QuerySet:
    rows = Notification.objects.filter(recipient=user, channel=Channel.IN_APP, status=Notification.Status.SENT)
    if read == "unread":
        rows = rows.filter(read_at__isnull=True)
    elif read == "read":
        rows = rows.filter(read_at__isnull=False)
    return rows.only(
        "id", "kind", "subject", "body", "link", "sent_at", "read_at", "due_at", "channel", "status", "recipient_id"
    ).order_by("-sent_at", "-id")


def inbox_unread_count(*, user) -> int:
    return inbox_list(user=user, read="unread").count()


def preference_get(*, user) -> NotificationPreference:
    """The user's preference, unsaved with the defaults when they never set one."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)
