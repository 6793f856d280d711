"""How long the outbox keeps what it is done with, and how late its oldest due message is.

Rows that were delivered (sent) or cancelled are purged once older than the retention age; a
pending or failed row is never purged here (it is still somebody's work). The operations app's beat
task calls `outbox_purge`; its health check calls `oldest_due_at`."""

import datetime

from django.db.models import Min, Q
from django.utils import timezone

from notifications.models import Notification

DONE = (Notification.Status.SENT, Notification.Status.CANCELLED)


def oldest_due_at(*, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """When the longest-waiting pending message became due (None when nothing is due)."""
    now = now or timezone.now()
    return Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now).aggregate(
        oldest=Min("next_attempt_at")
    )["oldest"]


def outbox_purge(*, older_than: datetime.timedelta, now: datetime.datetime | None = None, batch_size: int = 5000) -> int:
    """Delete sent rows (by their send time) and cancelled rows (by their due time) older than
    `older_than`, in batches so no long lock is held. Returns how many were deleted."""
    cutoff = (now or timezone.now()) - older_than
    stale = Q(status=Notification.Status.SENT, sent_at__lt=cutoff) | Q(status=Notification.Status.CANCELLED, due_at__lt=cutoff)
    deleted = 0
    while True:
        ids = list(Notification.objects.filter(stale).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += Notification.objects.filter(stale, pk__in=ids).delete()[0]
