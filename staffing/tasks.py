"""Periodic work of the doctor register (thin: call a service). Safe to run twice."""

from celery import shared_task
from django.utils import timezone

from staffing.services import logins

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="staffing.sync_doctor_logins", **TASK_OPTIONS)
def sync_doctor_logins_task() -> dict:
    """A doctor's login follows the posting in force: a posting recorded in advance moves the
    login on its start date."""
    return {"moved": logins.doctor_logins_sync(today=timezone.localdate())}
