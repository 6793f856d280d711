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
