from drf_spectacular.utils import extend_schema
from rest_framework import viewsets

from staffing.filters import ClinicFilter, DoctorFilter
from staffing.selectors import clinic_coverage_list, doctor_list
from staffing.serializers import ClinicSerializer, DoctorSerializer


@extend_schema(tags=["register"])
class ClinicViewSet(viewsets.ReadOnlyModelViewSet):
    """Facilities in the user's reach with today's coverage (active doctors against target)."""

    serializer_class = ClinicSerializer
    filterset_class = ClinicFilter
    ordering_fields = ("code", "name", "target_doctors", "active_doctors")

    def get_queryset(self):
        return clinic_coverage_list(user=self.request.user).order_by("code")


@extend_schema(tags=["register"])
class DoctorViewSet(viewsets.ReadOnlyModelViewSet):
    """Doctors in the user's reach. ID numbers and bank accounts are masked."""

    serializer_class = DoctorSerializer
    filterset_class = DoctorFilter
    ordering_fields = ("name", "hire_date", "licence_expiry", "id")

    def get_queryset(self):
        return doctor_list(user=self.request.user).order_by("name", "id")
