"""The audit trail: who changed what and when, written by every app's services (`core.audit`)."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.storage import private_storage


class AuditEntry(models.Model):
    """Who changed what and when. Written by services in the same transaction as the change."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=50)
    content_type = models.ForeignKey(ContentType, verbose_name=_("object type"), on_delete=models.PROTECT)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        db_table = "clinics_auditentry"  # created by clinics' first migration; moved here as is
        indexes = [models.Index(fields=["content_type", "object_id"], name="clinics_aud_content_27cf87_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


class Job(models.Model):
    """A piece of long work run by a worker (`core.jobs`): who started it, how far it is, what it
    gave. Two starts of the same work (same kind and dedupe key) while one is queued or running
    meet the one row: the partial unique constraint below makes that true under concurrency."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Failed")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(_("kind"), max_length=64)
    dedupe_key = models.CharField(_("repeat key"), max_length=200, editable=False)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), null=True, blank=True)
    note = models.CharField(_("step"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Written with every progress step: a running job whose worker died stops moving, and a
    # redelivered task takes it over once this is older than JOBS_LEASE_SECONDS.
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    # One result file (an export), on the private storage, read only by the starter through
    # `core.jobs.job_file_for`; deleted from disk once `file_expires_at` has passed
    # (operations.retention.job_files_sweep, hourly). `file_name` is what the browser saves it as.
    file = models.FileField(_("result file"), storage=private_storage, upload_to="jobs/", max_length=300, blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(_("file size"), null=True, blank=True)
    file_content_type = models.CharField(_("file type"), max_length=100, blank=True)
    file_expires_at = models.DateTimeField(_("file kept until"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("background task")
        verbose_name_plural = _("background tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "dedupe_key"],
                condition=Q(status__in=["queued", "running"]),
                name="job_active_once",
                violation_error_message=_("The same task is already queued or running."),
            ),
            models.CheckConstraint(condition=Q(total__isnull=True) | Q(done__lte=models.F("total")), name="job_done_within_total"),
        ]
        indexes = [models.Index(fields=["started_by", "-created_at"], name="job_by_user")]

    def __str__(self):
        return f"{self.kind} #{self.pk}"


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` a user sent to one endpoint (`core.idempotency`): the request it came
    with (a digest of the body) and, once done, the first answer, which every retry with the same
    key gets again until `expires_at`. The unique constraint makes the first of two concurrent
    requests the only one that does the work."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("Being handled")
        DONE = "done", _("Done")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(_("endpoint"), max_length=64)
    key = models.CharField(_("idempotency key"), max_length=255)
    fingerprint = models.CharField(_("request digest"), max_length=64)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    # While in progress: until when the request at work holds the key (a retry after that may take
    # it over, the first having died).
    locked_until = models.DateTimeField(_("held until"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("answer status"), null=True, blank=True)
    response_body = models.JSONField(_("answer"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("kept until"), db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_key_once"),
            models.CheckConstraint(
                condition=Q(status="in_progress") | Q(response_status__isnull=False), name="idempotency_done_has_answer"
            ),
        ]

    def __str__(self):
        return f"{self.scope} {self.key}"


class ApiTokenUse(models.Model):
    """When an API token (django-rest-knox's `AuthToken`) was last used, written at most once per
    `core.tokens.USE_RECORD_INTERVAL`, so the token list shows whether a terminal moved to its
    rotated token."""

    token = models.OneToOneField(
        "knox.AuthToken", verbose_name=_("token"), on_delete=models.CASCADE, primary_key=True, related_name="use"
    )
    last_used_at = models.DateTimeField(_("last used"))

    class Meta:
        ordering = ["-last_used_at"]
        verbose_name = _("API token use")
        verbose_name_plural = _("API token uses")

    def __str__(self):
        return f"{self.token_id[:8]} {self.last_used_at:%Y-%m-%d %H:%M}"
