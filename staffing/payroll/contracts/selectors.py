"""Reads of the contract register, scoped to the user's reach (a doctor is reached through the
posting in force, `staffing.reach`)."""

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


def contracts_for_month(*, year: int, doctor_ids=None) -> dict[int, ContractRegister]:
    """Each doctor's register entry of a service year (the pay calculation's read, once a month)."""
    queryset = ContractRegister.objects.filter(service_year=year)
    if doctor_ids is not None:
        queryset = queryset.filter(doctor_id__in=doctor_ids)
    return {r.doctor_id: r for r in queryset.only("pk", "doctor_id", "service_year", "residents", "assessment_score", "assessment_paid_month")}


def contracts_assessed_in(*, month, doctor_ids=None) -> list[ContractRegister]:
    """Register entries whose assessment is paid by the run of `month`."""
    queryset = ContractRegister.objects.filter(assessment_paid_month=month, assessment_score__isnull=False)
    if doctor_ids is not None:
        queryset = queryset.filter(doctor_id__in=doctor_ids)
    return list(queryset.only("pk", "doctor_id", "service_year", "residents", "assessment_score", "assessment_paid_month"))
