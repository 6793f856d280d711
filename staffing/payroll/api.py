
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets

from clinics.models import Role
from core.api import StrictOrderingFilter
from core.months import parse_optional_month
from staffing.payroll.selectors import payslip_list
from staffing.payroll.serializers import PayslipSerializer


@extend_schema(tags=["payroll"], parameters=[OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM")])
class PayslipViewSet(viewsets.ReadOnlyModelViewSet):
    """Payslips in the user's reach; a village doctor sees only their own approved payslips."""

    serializer_class = PayslipSerializer
    allowed_roles = (Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.PAYROLL_OFFICER, Role.VILLAGE_DOCTOR)
    filter_backends = [StrictOrderingFilter]  # the month is the selector's own parameter
    ordering_fields = ("month", "gross", "net", "id")

    def get_queryset(self):
        return payslip_list(user=self.request.user, month=parse_optional_month(self.request.query_params.get("month")))
