import datetime

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError

from clinics.models import Role
from staffing.payroll.selectors import payslip_list
from staffing.payroll.serializers import PayslipSerializer


def parse_month(text: str | None) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise ValidationError({"month": [_("Give the month as YYYY-MM, for example 2026-10.")]})


@extend_schema(tags=["payroll"], parameters=[OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM")])
class PayslipViewSet(viewsets.ReadOnlyModelViewSet):
    """Payslips in the user's reach; a village doctor sees only their own approved payslips."""

    serializer_class = PayslipSerializer
    allowed_roles = (Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.PAYROLL_OFFICER, Role.VILLAGE_DOCTOR)
    filter_backends: list = []

    def get_queryset(self):
        return payslip_list(user=self.request.user, month=parse_month(self.request.query_params.get("month")))
