"""Periodic work of the settlement log (thin: each calls a service)."""

import datetime

from celery import shared_task
from django.utils import timezone

from clinics.settlements.partitions import add_months, ensure_partitions_ahead, month_start
from clinics.settlements.services import anomalies_detect


@shared_task(name="settlements.create_partitions")
def create_settlement_partitions_task() -> list[str]:
    """Monthly partitions of the log for last month to three months ahead (PostgreSQL)."""
    return ensure_partitions_ahead(today=timezone.localdate())


@shared_task(name="settlements.detect_anomalies")
def detect_anomalies_task(month: str | None = None) -> int:
    """Flag the activity anomalies of `month` (YYYY-MM-DD), by default last month."""
    day = datetime.date.fromisoformat(month) if month else add_months(month_start(timezone.localdate()), -1)
    return len(anomalies_detect(month=day))
