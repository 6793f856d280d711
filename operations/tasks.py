"""Periodic operations work (thin: each calls a function of this app or of core)."""

from celery import shared_task

from core.jobs import requeue_stale_jobs, run_job_task  # noqa: F401  (registers core.run_job with the worker)
from operations import backups, health, retention

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="operations.heartbeat", **TASK_OPTIONS)
def heartbeat_task() -> str:
    """Run by a worker every minute (beat): the health check's proof that a worker takes tasks."""
    health.record_heartbeat("worker")
    return "ok"


@shared_task(name="operations.backup_database", **TASK_OPTIONS)
def backup_database_task() -> str:
    return str(backups.backup_database())


@shared_task(name="operations.apply_retention", **TASK_OPTIONS)
def apply_retention_task() -> dict:
    return retention.apply_retention()


@shared_task(name="operations.sweep_job_files", **TASK_OPTIONS)
def sweep_job_files_task() -> dict:
    return retention.job_files_sweep()


@shared_task(name="operations.requeue_stale_jobs", **TASK_OPTIONS)
def requeue_stale_jobs_task() -> int:
    return requeue_stale_jobs()
