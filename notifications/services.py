"""Writes to the outbox. Other apps call `notify` and `cancel_pending` inside their own transaction;
nothing here talks to a broker or a gateway before the caller's transaction commits."""

import datetime
import functools
import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Subquery
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_bulk, audit_record
from core.broker import publish_bounded
from core.validators import validate_mobile
from notifications import registry
from notifications.default_templates import DEFAULT_TEMPLATES
from notifications.models import (
    Channel,
    ChannelPreference,
    Kind,
    Notification,
    NotificationPreference,
    NotificationTemplate,
)
from notifications.selectors import channel_switches

logger = logging.getLogger(__name__)

CANCELLABLE = (Notification.Status.PENDING, Notification.Status.FAILED)


# --- Rendering ------------------------------------------------------------------------------


def _engine() -> Engine:
    return Engine(autoescape=False)


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """A template text compiled once per process: keyed by the text itself, so an admin's edit is
    a new key and nothing needs invalidating (a compiled Template renders safely in many threads)."""
    return _engine().from_string(source)


def render_text(source: str, context: dict) -> str:
    return _compiled(source).render(Context(context, autoescape=False)).strip()


def check_template_source(source: str) -> None:
    """Raise a Chinese ValidationError when an admin's template text does not compile."""
    try:
        _engine().from_string(source)
    except TemplateSyntaxError as exc:
        raise ValidationError(
            _("The template text is not valid: %(error)s. Check the {{ }} and {%% %%}.") % {"error": exc}
        )


def _active_template(kind: str):
    """The admin's active template of `kind` (kind is unique), as a queryset to read or to nest."""
    return NotificationTemplate.objects.filter(kind=kind, is_active=True)


def render(kind: str, context: dict) -> tuple[str, str]:
    """The subject and body of `kind`: the admin's active template, else the built-in default."""
    template = _active_template(kind).values_list("subject", "body").first()
    return _render_sources(kind, context, template)


def _render_sources(kind: str, context: dict, template: tuple[str, str] | None) -> tuple[str, str]:
    """`render` given the admin's (subject, body) of `kind`, or None when there is no active one."""
    default_subject, default_body = DEFAULT_TEMPLATES[kind]
    if template is not None:
        subject, body = template
        try:
            return render_text(subject, context)[:200], render_text(body, context)
        except TemplateSyntaxError:
            logger.exception("notification template %s does not compile; using the built-in text", kind)
    return render_text(default_subject, context)[:200], render_text(default_body, context)


# --- Channels a recipient accepts -----------------------------------------------------------


def channel_addresses(recipient, *, addresses: dict | None = None, settings_read=None) -> list[tuple[str, str]]:
    """(channel, address) pairs, in the registry's order: the inbox always; every other registered
    channel that is configured here, that the user has not switched off (or that is on by default)
    and for which an address is found — the user's own (typed into the preferences), the caller's
    `addresses[channel]` for this one message, then the registered resolvers. `settings_read`:
    the user's (addresses, switches) when already read (`_recipient_settings`)."""
    given = addresses or {}
    own, chosen = settings_read if settings_read is not None else _typed_addresses_and_switches(recipient)
    pairs = []
    for spec in registry.channels():
        if spec.always_on:
            pairs.append((spec.code, ""))
            continue
        if not spec.is_available() or not chosen.get(spec.code, spec.enabled_by_default):
            continue
        typed = own.get(spec.own_address, "") if spec.own_address else ""
        address = registry.resolve_address(spec.code, recipient, own=typed, given=str(given.get(spec.code) or ""))
        if address:
            pairs.append((spec.code, address))
    return pairs


def _typed_addresses_and_switches(user) -> tuple[dict[str, str], dict[str, bool]]:
    """The addresses the user typed ({field: value}) and their channel switches, in one query."""
    own, chosen, _template = _recipient_settings(user)
    return own, chosen


def _recipient_settings(user, *, template_kind: str | None = None):
    """The addresses the user typed ({field: value}), their channel switches and, for
    `template_kind`, the admin's active (subject, body) of that kind or None: one query."""
    fields = sorted({spec.own_address for spec in registry.channels() if spec.own_address})
    users = get_user_model().objects.filter(pk=user.pk)
    columns = [*[f"notification_preference__{field}" for field in fields], "channel_preferences__channel", "channel_preferences__enabled"]
    if template_kind is not None:
        active = _active_template(template_kind)
        users = users.annotate(
            template_subject=Subquery(active.values("subject")[:1]), template_body=Subquery(active.values("body")[:1])
        )
        columns += ["template_subject", "template_body"]
    rows = list(users.values_list(*columns))
    template = None
    if template_kind is not None and rows:
        *rest, subject, body = rows[0]
        template = (subject, body) if subject is not None else None
        rows = [row[:-2] for row in rows]
    own = dict(zip(fields, rows[0][: len(fields)], strict=True)) if rows else {}
    chosen = {row[-2]: row[-1] for row in rows if row[-2]}
    return {field: value or "" for field, value in own.items()}, chosen, template


def _aware(value: datetime.datetime) -> datetime.datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.replace(microsecond=0)


def dedupe_key(scheduled_for: datetime.datetime | None) -> str:
    if scheduled_for is None:
        return "now"
    return scheduled_for.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- The contract ---------------------------------------------------------------------------


def notify(
    *, recipient, kind: str, about, context: dict | None = None, due_at=None, link: str = "", addresses: dict | None = None,
    about_is_new: bool = False,
) -> list[Notification]:
    """Queue `kind` about `about` for `recipient`: one outbox row per channel the recipient accepts,
    in the caller's transaction. Idempotent on (kind, about, recipient, channel, due_at): calling it
    again for the same event returns the rows already queued (a cancelled one is queued again).

    Addresses come from the registered resolvers (`channel_addresses`); `addresses` ({channel:
    address}) is only for a caller that knows a better one for this message than the register
    (the bank-account warning goes to the mobile held before the change).

    `about_is_new`: the caller created `about` in this same transaction, so nothing about it can be
    queued yet; the rows are inserted as they are (a repeat would break the unique constraint
    instead of being skipped), without looking for earlier ones."""
    if kind not in Kind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if about is None or about.pk is None:
        raise ValueError("notify() needs a saved object to be about")
    # The caller's transaction, or one of its own when there is none; no savepoint of its own: a
    # failed write here fails the caller's transaction, which no caller carries on from.
    with transaction.atomic(savepoint=False):
        return _queue(
            recipient=recipient, kind=kind, about=about, context=dict(context or {}), due_at=due_at, link=link,
            addresses=addresses, about_is_new=about_is_new,
        )


def _queue(*, recipient, kind, about, context, due_at, link, addresses, about_is_new) -> list[Notification]:
    scheduled_for = _aware(due_at) if due_at is not None else None
    now = timezone.now()
    send_from = scheduled_for or now
    own, chosen, template = _recipient_settings(recipient, template_kind=kind)  # one query: addresses, switches, template
    subject, body = _render_sources(kind, context, template)
    content_type = ContentType.objects.get_for_model(about, for_concrete_model=False)
    key = dedupe_key(scheduled_for)
    pairs = channel_addresses(recipient, addresses=addresses, settings_read=(own, chosen))

    rows = [
        Notification(
            recipient=recipient,
            channel=channel,
            kind=kind,
            content_type=content_type,
            object_id=about.pk,
            scheduled_for=scheduled_for,
            dedupe_key=key,
            due_at=send_from,
            next_attempt_at=send_from,
            address=address,
            subject=subject,
            body=body,
            link=link[:300],
        )
        for channel, address in pairs
    ]
    if about_is_new:
        queued = sorted(Notification.objects.bulk_create(rows), key=lambda row: row.channel)
        if send_from <= now:
            _dispatch_after_commit()
        return queued
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    same_event = Notification.objects.filter(
        kind=kind,
        content_type=content_type,
        object_id=about.pk,
        recipient=recipient,
        dedupe_key=key,
        channel__in=[channel for channel, _address in pairs],
    )
    queued = list(same_event.order_by("channel"))
    cancelled = [row.pk for row in queued if row.status == Notification.Status.CANCELLED]
    if cancelled:
        Notification.objects.filter(pk__in=cancelled, status=Notification.Status.CANCELLED).update(
            status=Notification.Status.PENDING,
            subject=subject,
            body=body,
            link=link[:300],
            attempts=0,
            last_error="",
            due_at=send_from,
            next_attempt_at=send_from,
            read_at=None,
        )
        logger.info("notification %s about %s #%s queued again after a cancellation", kind, content_type, about.pk)
        queued = list(same_event.order_by("channel"))
    if send_from <= now:
        _dispatch_after_commit()
    return queued


SECRET_MASK = "******"


@transaction.atomic
def notify_secret_sms(*, recipient, kind: str, about, context: dict, secrets: Iterable[str], address: str) -> Notification:
    """Queue one SMS that carries a secret (a one-time password) to `address`, and nothing on the
    other channels (no inbox or e-mail copy keeps it). The row holds the real text only until it is
    sent, fails for good or is cancelled; from then on — and in the outbox and the logs meanwhile —
    it reads as the text with every `secrets` key of `context` masked. Every call is a new message
    (a new password is a new event). Raises ValidationError when SMS cannot be sent here."""
    if kind not in Kind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    spec = registry.CHANNELS.get(Channel.SMS)
    if spec is None or not spec.is_available():
        raise ValidationError(_("SMS is not configured on this system; show the password once instead."))
    address = validate_mobile(address or "")
    masked_context = {**context, **{key: SECRET_MASK for key in secrets}}
    subject, masked_body = render(kind, masked_context)  # the subject never carries the secret
    _subject, body = render(kind, context)
    now = timezone.now()
    row = Notification(
        recipient=recipient, channel=Channel.SMS, kind=kind,
        content_type=ContentType.objects.get_for_model(about, for_concrete_model=False), object_id=about.pk,
        dedupe_key=f"secret-{uuid.uuid4().hex}"[:40], due_at=now, next_attempt_at=now, address=address,
        subject=subject, body=body, body_after_send=masked_body,
    )  # fmt: skip
    row.full_clean(exclude=["recipient", "content_type"])
    row.save()
    _dispatch_after_commit()
    return row


def scrub_secrets(rows) -> int:
    """Replace the text of secret-carrying rows by its masked form (rows sent, failed for good or
    cancelled: the secret is not needed any more)."""
    return rows.exclude(body_after_send="").exclude(body=F("body_after_send")).update(body=F("body_after_send"))


@transaction.atomic
def cancel_pending(*, kind: str | Iterable[str], about, recipient=None) -> int:
    """Cancel the rows of `kind` (a kind or several) about `about` not sent yet; returns how many."""
    kinds = [kind] if isinstance(kind, str) else list(kind)
    rows = Notification.objects.filter(
        kind__in=kinds,
        content_type=ContentType.objects.get_for_model(about, for_concrete_model=False),
        object_id=about.pk,
        status__in=CANCELLABLE,
    )
    if recipient is not None:
        rows = rows.filter(recipient=recipient)
    ids = list(rows.values_list("pk", flat=True))
    count = Notification.objects.filter(pk__in=ids).update(
        status=Notification.Status.CANCELLED, claim_token=None, claimed_until=None
    )
    scrub_secrets(Notification.objects.filter(pk__in=ids))
    return count


# --- Inbox, retries and preferences ---------------------------------------------------------


def notification_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Mark the user's own delivered inbox messages read (all of them when `ids` is None)."""
    rows = Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, status=Notification.Status.SENT, read_at__isnull=True
    )
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())


def notification_mark_unread(*, user, ids: Iterable[int]) -> int:
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP, pk__in=list(ids)).update(read_at=None)


@transaction.atomic
def notification_retry(*, ids: Iterable[int], acting_user) -> int:
    """Queue failed rows again from scratch; they go out at the next dispatch."""
    rows = list(
        Notification.objects.select_for_update()
        .filter(pk__in=list(ids), status=Notification.Status.FAILED)
        .filter(body_after_send="")  # a secret's text is masked once failed: a new password is needed, not a retry
        .only("pk", "kind", "channel", "recipient_id")
    )
    if not rows:
        return 0
    now = timezone.now()
    Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
        status=Notification.Status.PENDING, attempts=0, next_attempt_at=now, claim_token=None, claimed_until=None,
        handed_over_at=None,
    )
    audit_bulk(
        actor=acting_user,
        action="notification.retry",
        targets=rows,
        changes={"status": [Notification.Status.FAILED, Notification.Status.PENDING]},
    )
    _dispatch_after_commit()
    return len(rows)


@transaction.atomic
def preference_update(*, user, acting_user, mobile: str = "", email: str = "", **enabled: bool) -> NotificationPreference:
    """Save the user's addresses and, for each switchable channel given as `<code>_enabled`, whether
    it is on (a channel left out keeps its choice)."""
    switches = {spec.code: spec for spec in registry.switchable_channels()}
    unknown = [name for name in enabled if name.removesuffix("_enabled") not in switches or not name.endswith("_enabled")]
    if unknown:
        raise TypeError(f"preference_update() got unknown channel switches {unknown}")
    preference, _created = NotificationPreference.objects.select_for_update().get_or_create(user=user)
    mobile = (mobile or "").strip()
    if mobile:
        try:
            mobile = validate_mobile(mobile)  # stored normalised: full-width digits as ASCII
        except ValidationError as exc:
            raise ValidationError({"mobile": exc.messages})
    current = channel_switches(user=user)
    before = {**{f"{code}_enabled": on for code, on in current.items()},
              "mobile_set": bool(preference.mobile), "email_set": bool(preference.email)}  # fmt: skip
    preference.mobile = mobile
    preference.email = (email or "").strip()
    preference.full_clean()
    preference.save()
    for name, on in enabled.items():
        ChannelPreference.objects.update_or_create(
            user=user, channel=name.removesuffix("_enabled"), defaults={"enabled": bool(on)}
        )
    after = {**before, **{name: bool(on) for name, on in enabled.items()},
             "mobile_set": bool(preference.mobile), "email_set": bool(preference.email)}  # fmt: skip
    # Addresses stay out of the audit trail; only whether one is set.
    audit_record(
        actor=acting_user,
        action="notification_preference.update",
        target=preference,
        changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
    )
    return preference


# --- Waking the dispatcher ------------------------------------------------------------------


def _dispatch_after_commit() -> None:
    """Ask a worker to dispatch as soon as the transaction commits. Only a shortcut: the beat task
    every minute sends whatever is due, so a broker that is down loses nothing."""
    if not settings.NOTIFICATIONS_DISPATCH_ON_COMMIT:
        return
    connection = transaction.get_connection()
    if any(entry[1] is _enqueue_dispatch for entry in connection.run_on_commit):
        return
    transaction.on_commit(_enqueue_dispatch)


def _enqueue_dispatch() -> None:
    """The nudge never holds a request up (`core.broker.publish_bounded`: a bounded wait, then a
    pause); one on its way is enough. The outbox row is committed before; beat's sweep sends it."""
    from notifications.tasks import dispatch_due_notifications_task

    publish_bounded(
        lambda: dispatch_due_notifications_task.apply_async(retry=False), what="the dispatch nudge", key="notifications.dispatch"
    )


@transaction.atomic
def cancel_pending_rows(*, ids: Iterable[int], acting_user) -> int:
    """Cancel chosen rows not sent yet (the admin's action)."""
    rows = list(Notification.objects.select_for_update().filter(pk__in=list(ids), status__in=CANCELLABLE).only("pk"))
    if not rows:
        return 0
    Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
        status=Notification.Status.CANCELLED, claim_token=None, claimed_until=None
    )
    scrub_secrets(Notification.objects.filter(pk__in=[row.pk for row in rows]))
    audit_bulk(actor=acting_user, action="notification.cancel", targets=rows, changes={"status": "cancelled"})
    return len(rows)
