"""The outbox: one row per message per channel, written in the transaction of the event that causes
it, and sent later by the dispatcher. Rows point at the object they are about through a generic
reference, so this app imports none of the apps that notify."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from notifications.registry import channel_choices


class Kind(models.TextChoices):
    CONSULT_BOOKED = "consult_booked", _("Consult booked")
    CONSULT_REMINDER_24H = "consult_reminder_24h", _("Consult in 24 hours")
    CONSULT_REMINDER_30M = "consult_reminder_30m", _("Consult in 30 minutes")
    CONSULT_CONFIRMED = "consult_confirmed", _("Consult confirmed")
    CONSULT_DECLINED = "consult_declined", _("Consult declined")
    CONSULT_CANCELLED = "consult_cancelled", _("Consult cancelled")
    CONSULT_RESCHEDULED = "consult_rescheduled", _("Consult rescheduled")
    CONSULT_OUTCOME = "consult_outcome", _("Consult outcome recorded")
    LICENCE_EXPIRING_90 = "licence_expiring_90", _("Licence expires in 90 days")
    LICENCE_EXPIRING_30 = "licence_expiring_30", _("Licence expires in 30 days")
    ROSTER_PUBLISHED = "roster_published", _("Roster published")
    ROSTER_AMENDED = "roster_amended", _("Roster amended")
    LEAVE_DECIDED = "leave_decided", _("Leave decided")
    SWAP_DECIDED = "swap_decided", _("Swap decided")
    SWAP_ASKED = "swap_asked", _("Swap asked of you")
    PAYSLIP_AVAILABLE = "payslip_available", _("Payslip available")
    BANK_ACCOUNT_CHANGED = "bank_account_changed", _("Bank account changed")
    JOB_FINISHED = "job_finished", _("Task finished")
    LOGIN_PASSWORD = "login_password", _("One-time password of a login")


class Channel:
    """The codes of the channels registered by this app (`notifications.channels`,
    `notifications.wecom`); labels, backends and the rest live in the registry."""

    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    WECOM = "wecom"


class NotificationTemplate(models.Model):
    """The Chinese text of one kind of message, in Django template syntax, rendered with the
    context the notifying app passes. Seeded from `notifications.default_templates`."""

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, unique=True)
    subject = models.CharField(_("subject"), max_length=200, help_text=_("Title in the inbox and e-mail subject."))
    body = models.TextField(_("body"), help_text=_("Text of the inbox entry, e-mail and SMS; {{ name }} inserts a value."))
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("When off, the built-in default text is used instead.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")

    def __str__(self):
        return self.get_kind_display()


class NotificationPreference(models.Model):
    """The addresses a user typed in: they win over the ones the apps that know the person resolve
    (the register's mobile, the account's e-mail). Whether each channel is on is a ChannelPreference."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    mobile = models.CharField(_("mobile for SMS"), max_length=11, blank=True)
    email = models.EmailField(_("e-mail for notifications"), blank=True, help_text=_("Empty: the account's e-mail."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["user_id"]
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self):
        return str(self.user)


class ChannelPreference(models.Model):
    """A user's choice for one channel; a channel without a row follows its registered default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="channel_preferences"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=channel_choices)
    enabled = models.BooleanField(_("switched on"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["user_id", "channel"]
        verbose_name = _("channel preference")
        verbose_name_plural = _("channel preferences")
        constraints = [models.UniqueConstraint(fields=["user", "channel"], name="channel_preference_once_per_user")]

    def __str__(self):
        return f"{self.user} · {self.get_channel_display()}"


class Notification(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("notification status", "Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", pgettext_lazy("notification status", "Cancelled")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=channel_choices)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    content_type = models.ForeignKey(ContentType, verbose_name=_("about (type)"), on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField(_("about (id)"))
    about = GenericForeignKey("content_type", "object_id")
    # The caller's due time, or empty for "now"; it is part of the uniqueness rule, so it is kept
    # apart from `due_at`, which always holds the time the message may first go out.
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    dedupe_key = models.CharField(_("repeat key"), max_length=40, editable=False)
    due_at = models.DateTimeField(_("due"))
    address = models.CharField(_("address"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    # A message that carries a secret (a one-time password) holds here the text with the secret
    # masked: the outbox shows it, and it replaces `body` once the row is sent, failed or cancelled.
    body_after_send = models.TextField(_("text kept after sending"), blank=True, editable=False)
    link = models.CharField(_("link"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    claim_token = models.UUIDField(_("claim"), null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True)
    # Set just before a row goes to a channel that cannot recognise a repeat (WeChat Work): a claim
    # that finds it set belongs to a worker that died mid-send, and the row is not sent again.
    handed_over_at = models.DateTimeField(_("handed to the channel"), null=True, blank=True, editable=False)
    external_id = models.CharField(
        _("channel's message id"), max_length=64, blank=True, editable=False, help_text=_("WeChat Work's msgid.")
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "content_type", "object_id", "recipient", "channel", "dedupe_key"],
                name="notification_once_per_event",
                violation_error_message=_("This notification has already been queued."),
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claim_token__isnull=False, claimed_until__isnull=False),
                name="notification_sending_is_claimed",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="notification_sent_has_time",
            ),
        ]
        indexes = [
            # The dispatcher's scan: due rows waiting to go out, and claims whose lease ran out.
            models.Index(fields=["next_attempt_at"], name="notif_pending_due", condition=Q(status="pending")),
            models.Index(fields=["claimed_until"], name="notif_sending_lease", condition=Q(status="sending")),
            # The inbox: a user's delivered in-app messages, newest first.
            models.Index(
                fields=["recipient", "-sent_at"], name="notif_inbox", condition=Q(channel="in_app", status="sent")
            ),
            models.Index(fields=["content_type", "object_id", "kind"], name="notif_about"),
            models.Index(fields=["status", "channel"], name="notif_status_channel"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} → {self.recipient} ({self.get_channel_display()})"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def shown_body(self) -> str:
        """The text a person may read in the outbox or a log: a secret's masked text."""
        return self.body_after_send or self.body
