"""Reads. A user's inbox is their own delivered in-app messages; nobody reads another's inbox, so
the scope is the recipient rather than a facility's reach."""

from django.db.models import QuerySet

from notifications import registry
from notifications.models import Channel, ChannelPreference, Notification, NotificationPreference

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


def preference_get(*, user) -> dict:
    """How the user is reached: `<code>_enabled` for each switchable channel (their choice, else the
    channel's default) and the addresses they typed (`mobile`, `email`; empty when never set)."""
    own = NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)
    return {**{f"{code}_enabled": on for code, on in channel_switches(user=user).items()},
            "mobile": own.mobile, "email": own.email}  # fmt: skip


def failed_delivery_count() -> int:
    """Messages of every recipient whose delivery failed (the county's view of the outbox: the
    caller decides who may see it)."""
    return Notification.objects.filter(status=Notification.Status.FAILED).count()


def channel_switches(*, user) -> dict[str, bool]:
    """{code: on} for every switchable channel: the user's choice, else the channel's default."""
    chosen = dict(ChannelPreference.objects.filter(user=user).values_list("channel", "enabled")) if user.pk else {}
    return {spec.code: chosen.get(spec.code, spec.enabled_by_default) for spec in registry.switchable_channels()}
