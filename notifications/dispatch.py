"""The dispatcher: claim due rows, send each through its channel, record the outcome.

A claim stamps rows with a fresh token and a lease. On PostgreSQL the rows are picked with
`SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint rows without waiting; on
SQLite, where writers are serialised, one conditional `UPDATE … WHERE id IN (due rows)` claims
them atomically. Every outcome is written with `WHERE claim_token = <mine>`, so a worker whose
lease ran out cannot overwrite another's result. A worker that dies after claiming leaves rows in
"sending"; once their lease runs out the next dispatch claims them again. A row is marked sent
right after its channel accepts it, and a worker stops sending well before its lease ends, so a
row already sent is never claimed again.

A channel that cannot recognise a repeat (WeChat Work: `repeat_safe=False`) gets one more guard:
the row is stamped `handed_over_at` (committed) before it goes out, and the provider's message id
is written with the sent mark. A claim that finds the stamp on a row still "sending" holds the row
of a worker that died between handing it over and recording the answer: it may have arrived, so
it is failed for an admin to check instead of being sent a second time."""

import datetime
import logging
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications import registry
from notifications.models import Notification
from notifications.registry import ChannelError, backend_for, mask_address

logger = logging.getLogger(__name__)

Status = Notification.Status


def lease_margin_seconds() -> int:
    """Time kept in hand before a lease runs out: the slowest channel's one send must fit in it."""
    return max(15, int(registry.longest_send_seconds()) + 5)


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    lost_claims: int = 0
    sent_ids: list = field(default_factory=list)

    def add(self, other: "DispatchResult") -> None:
        for name in ("claimed", "sent", "retrying", "failed", "released", "lost_claims"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.sent_ids.extend(other.sent_ids)


def due_filter(now: datetime.datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.SENDING, claimed_until__lt=now)


def claim_due(*, limit: int, lease_seconds: int, now: datetime.datetime | None = None) -> tuple[uuid.UUID, list]:
    """Claim up to `limit` due rows for this worker; returns the claim token and the rows."""
    now = now or timezone.now()
    token = uuid.uuid4()
    claim = {
        "status": Status.SENDING,
        "claim_token": token,
        "claimed_until": now + datetime.timedelta(seconds=lease_seconds),
        "attempts": F("attempts") + 1,
    }
    with transaction.atomic():
        due = Notification.objects.filter(due_filter(now)).order_by("next_attempt_at", "id")
        if connection.vendor == "postgresql":
            ids = list(due.select_for_update(skip_locked=True, of=("self",)).values_list("id", flat=True)[:limit])
            if ids:
                Notification.objects.filter(pk__in=ids).update(**claim)
        else:
            # SQLite: the write transaction is exclusive, and the outer filter repeats the due
            # condition, so a row claimed by another process in between is not taken again.
            Notification.objects.filter(due_filter(now), pk__in=list(due.values_list("id", flat=True)[:limit])).update(
                **claim
            )
    rows = list(Notification.objects.filter(claim_token=token).order_by("next_attempt_at", "id"))
    return token, rows


def backoff_seconds(attempts: int) -> int:
    base = int(settings.NOTIFICATIONS_RETRY_BASE_SECONDS)
    cap = int(settings.NOTIFICATIONS_RETRY_MAX_SECONDS)
    return min(cap, base * 2 ** max(0, attempts - 1))


def _mine(row, token) -> "Q":
    return Q(pk=row.pk, claim_token=token, status=Status.SENDING)


def _record_sent(row, token, external_id: str = "") -> bool:
    """Mark the row sent; a secret's text (a one-time password) is masked in the same update."""
    return bool(
        Notification.objects.filter(_mine(row, token)).update(
            status=Status.SENT, sent_at=timezone.now(), last_error="", claim_token=None, claimed_until=None,
            external_id=(external_id or "")[:64], body=row.body_after_send or F("body"),
        )  # fmt: skip
    )


def _hand_over(row, token) -> bool:
    """Stamp the row before it goes to a channel that cannot recognise a repeat (committed at once:
    the dispatcher runs in autocommit)."""
    return bool(Notification.objects.filter(_mine(row, token)).update(handed_over_at=timezone.now()))


def _record_failure(row, token, error: ChannelError) -> str:
    max_attempts = int(settings.NOTIFICATIONS_MAX_ATTEMPTS)
    message = str(error)[:2000]
    if error.permanent or row.attempts >= max_attempts:
        status, next_at = Status.FAILED, row.next_attempt_at
    else:
        status, next_at = Status.PENDING, timezone.now() + datetime.timedelta(seconds=backoff_seconds(row.attempts))
    scrubbed = {"body": row.body_after_send} if status == Status.FAILED and row.body_after_send else {}
    updated = Notification.objects.filter(_mine(row, token)).update(
        status=status, next_attempt_at=next_at, last_error=message, claim_token=None, claimed_until=None,
        handed_over_at=None, **scrubbed,
    )  # fmt: skip
    return status if updated else ""


def _release(rows, token) -> int:
    """Hand back claimed rows not tried (the attempt they were charged is returned too)."""
    return Notification.objects.filter(pk__in=[r.pk for r in rows], claim_token=token, status=Status.SENDING).update(
        status=Status.PENDING, claim_token=None, claimed_until=None, attempts=F("attempts") - 1
    )


def send_claimed(token, rows, *, lease_end: datetime.datetime) -> DispatchResult:
    result = DispatchResult(claimed=len(rows))
    backends: dict = {}
    margin = datetime.timedelta(seconds=lease_margin_seconds())
    for index, row in enumerate(rows):
        if timezone.now() + margin >= lease_end:
            result.released += _release(rows[index:], token)
            logger.warning("dispatch lease nearly over: %s notifications handed back", result.released)
            break
        spec = registry.CHANNELS.get(row.channel)
        guarded = spec is not None and not spec.repeat_safe
        handed = False
        try:
            if spec is None:
                raise ChannelError(f"channel {row.channel!r} is not registered", permanent=True)
            if guarded and row.handed_over_at is not None:
                raise ChannelError(_unknown_outcome(row), permanent=True)
            backend = backends.get(row.channel) or backends.setdefault(row.channel, backend_for(row.channel))
            if guarded:
                handed = _hand_over(row, token)
                if not handed:
                    result.lost_claims += 1
                    continue
            external_id = backend.send(row)
        except ChannelError as exc:
            outcome = _record_failure(row, token, exc)
            if outcome == Status.FAILED:
                result.failed += 1
                logger.error(
                    "notification %s (%s to %s) failed for good after %s attempts: %s",
                    row.pk, row.channel, mask_address(row.channel, row.address), row.attempts, exc,
                )  # fmt: skip
            elif outcome == Status.PENDING:
                result.retrying += 1
                logger.warning("notification %s (%s) will be retried: %s", row.pk, row.channel, exc)
            else:
                result.lost_claims += 1
            continue
        except Exception as exc:  # a backend bug must not stop the batch; retry it like an outage
            # ...unless the row may already have reached a channel that cannot recognise a repeat.
            outcome = _record_failure(row, token, ChannelError(f"{type(exc).__name__}: {exc}", permanent=handed))
            logger.exception("notification %s: unexpected error in the %s backend", row.pk, row.channel)
            result.retrying += outcome == Status.PENDING
            result.failed += outcome == Status.FAILED
            continue
        if _record_sent(row, token, external_id if isinstance(external_id, str) else ""):
            result.sent += 1
            result.sent_ids.append(row.pk)
        else:
            result.lost_claims += 1
            logger.warning("notification %s was sent after its claim ran out", row.pk)
    return result


def _unknown_outcome(row) -> str:
    at = timezone.localtime(row.handed_over_at)
    return (
        f"handed to {row.channel} at {at:%Y-%m-%d %H:%M:%S} by a worker that stopped before recording the answer; "
        "it may have arrived, so it is not sent again automatically — check with the recipient, then retry"
    )


def dispatch_batch(*, limit: int | None = None, lease_seconds: int | None = None) -> DispatchResult:
    limit = int(limit or settings.NOTIFICATIONS_BATCH_SIZE)
    lease_seconds = int(lease_seconds or settings.NOTIFICATIONS_CLAIM_LEASE_SECONDS)
    now = timezone.now()
    token, rows = claim_due(limit=limit, lease_seconds=lease_seconds, now=now)
    if not rows:
        return DispatchResult()
    return send_claimed(token, rows, lease_end=now + datetime.timedelta(seconds=lease_seconds))


def dispatch_due(*, limit: int | None = None, time_budget: float | None = None) -> DispatchResult:
    """Dispatch batches until nothing is due or the time budget is spent (the next beat run goes on)."""
    budget = float(time_budget if time_budget is not None else settings.NOTIFICATIONS_DISPATCH_TIME_BUDGET_SECONDS)
    started = time.monotonic()
    total = DispatchResult()
    while True:
        batch = dispatch_batch(limit=limit)
        total.add(batch)
        if batch.claimed == 0 or time.monotonic() - started >= budget:
            break
    if total.claimed:
        logger.info(
            "dispatched notifications: %s sent, %s to retry, %s failed, %s handed back",
            total.sent, total.retrying, total.failed, total.released,
        )  # fmt: skip
    return total
