"""Periodic teleconsult work (thin: call a service). Both tasks are idempotent."""

from celery import shared_task

from telemedicine.services.slots import slots_materialise_horizon
from telemedicine.services.sweeps import bookings_sweep_past


@shared_task(name="telemedicine.materialise_slots")
def materialise_slots_task() -> dict:
    report = slots_materialise_horizon()
    return {
        "created": report.created,
        "withdrawn": report.withdrawn,
        "reopened": report.reopened,
        "missing_calendar_years": report.missing_calendar_years,
    }


@shared_task(name="telemedicine.sweep_past_consults")
def sweep_past_consults_task() -> dict:
    report = bookings_sweep_past()
    return {"no_show": report.no_show, "expired": report.expired}
