"""Thin Celery tasks. Due times live in the outbox, never in ETA/countdown messages, and every task
is safe to run twice (acks_late and reject_on_worker_lost come from settings and are repeated here)."""

from celery import shared_task

from notifications import dispatch, reminders

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="notifications.dispatch_due", **TASK_OPTIONS)
def dispatch_due_notifications_task() -> dict:
    result = dispatch.dispatch_due()
    return {"claimed": result.claimed, "sent": result.sent, "retrying": result.retrying, "failed": result.failed}


@shared_task(name="notifications.run_reminder_scans", **TASK_OPTIONS)
def run_reminder_scans_task() -> dict:
    return reminders.run_scanners()
