"""Reads of the contract register, scoped to the user's reach (a doctor is reached through the
posting in force, `staffing.reach`)."""

import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from staffing.models import Posting
from staffing.payroll.contracts.models import ContractRegister
from staffing.reach import in_force_on, scope_doctors


def contract_register_list(*, user, service_year: int | None = None) -> QuerySet:
    """Register entries of the doctors in the user's reach, with the doctor's current clinic and
    township names annotated (one query however many rows)."""
    today = timezone.localdate()
    current = Posting.objects.filter(doctor=OuterRef("doctor_id")).filter(in_force_on(today)).order_by("-start_date")
    queryset = ContractRegister.objects.select_related("doctor").annotate(
        clinic_name=Subquery(current.values("facility__name")[:1]),
        township_name=Subquery(current.values("facility__township__name")[:1]),
    )
    if service_year is not None:
        queryset = queryset.filter(service_year=service_year)
    return scope_doctors(queryset, user, doctor_ref="doctor")


class ContractEntry(NamedTuple):
    """A register entry as the pay calculation reads it (a province's 28,000 a month: plain rows,
    not model instances)."""

    pk: int
    doctor_id: int
    service_year: int
    residents: int
    assessment_score: Decimal | None
    assessment_paid_month: datetime.date | None


def _entries(queryset) -> list[ContractEntry]:
    return [ContractEntry._make(row) for row in queryset.values_list(*ContractEntry._fields)]


def contracts_for_month(*, year: int, doctor_ids=None) -> dict[int, ContractEntry]:
    """Each doctor's register entry of a service year (the pay calculation's read, once a month)."""
    queryset = ContractRegister.objects.filter(service_year=year)
    if doctor_ids is not None:
        queryset = queryset.filter(doctor_id__in=doctor_ids)
    return {entry.doctor_id: entry for entry in _entries(queryset)}


def contracts_assessed_in(*, month, doctor_ids=None) -> list[ContractEntry]:
    """Register entries whose assessment is paid by the run of `month`."""
    queryset = ContractRegister.objects.filter(assessment_paid_month=month, assessment_score__isnull=False)
    if doctor_ids is not None:
        queryset = queryset.filter(doctor_id__in=doctor_ids)
    return _entries(queryset.order_by("pk"))
