"""The starter's inbox notice when a job ends (called by core.jobs in the transaction that records
the end; notifications' public send service writes the outbox row)."""

from django.urls import reverse

from core.jobs import job_label

JOB_FINISHED_KIND = "job_finished"


def notify_job_finished(job) -> None:
    from notifications.models import Kind
    from notifications.services import notify

    if job.started_by_id is None or JOB_FINISHED_KIND not in Kind.values:
        return
    notify(
        recipient=job.started_by,
        kind=JOB_FINISHED_KIND,
        about=job,
        context={
            "task": job_label(job),
            "status": str(job.get_status_display()),
            "succeeded": job.status == job.Status.SUCCEEDED,
            "error": job.error,
        },
        link=reverse("operations:job-detail", args=[job.pk]),
    )
