"""The API of what the payroll officer enters for a month (assessments, one-off items), through
the same services as the admin: an entry no run would pay is refused with 400 and the Chinese
message on its field; an assessment for an approved month inside the correction window is saved
(201) and says which run pays it as an adjustment (`pay_path`)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets

from clinics.api_fields import ReachIdField
from clinics.models import Role
from clinics.scoping import is_county_wide
from core.api import StrictOrderingFilter
from staffing.models import Doctor
from staffing.payroll.models import Assessment, OneOffItem
from staffing.payroll.services.inputs import assessment_save, one_off_item_save

COUNTY_PAYROLL = (Role.COUNTY_ADMIN, Role.PAYROLL_OFFICER)


class _PayPathMixin(serializers.Serializer):
    pay_path = serializers.SerializerMethodField()
    paid_by_run = serializers.SerializerMethodField()

    def get_pay_path(self, obj) -> str:
        path = getattr(obj, "pay_path", None)
        return path.kind if path else "counted"

    def get_paid_by_run(self, obj) -> str:
        path = getattr(obj, "pay_path", None)
        month = path.next_run if path and path.kind == "adjustment" else (path.month if path else None)
        return f"{month:%Y-%m}" if month else ""


class AssessmentSerializer(_PayPathMixin, serializers.ModelSerializer):
    doctor_id = ReachIdField(model=Doctor)

    class Meta:
        model = Assessment
        fields = ["id", "doctor_id", "period", "period_start", "score", "note", "pay_path", "paid_by_run"]
        validators = []  # the model's constraints are checked by the service's full_clean, in Chinese


class OneOffItemSerializer(_PayPathMixin, serializers.ModelSerializer):
    doctor_id = ReachIdField(model=Doctor)

    class Meta:
        model = OneOffItem
        fields = ["id", "doctor_id", "month", "kind", "amount", "description", "pay_path", "paid_by_run"]
        validators = []


class _EntryViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    allowed_roles = COUNTY_PAYROLL
    filter_backends = [StrictOrderingFilter]

    def get_queryset(self):
        queryset = self.queryset.select_related("doctor")
        return queryset if is_county_wide(self.request.user) else queryset.none()


@extend_schema(tags=["payroll"])
class AssessmentViewSet(_EntryViewSet):
    """Assessments (county-wide payroll roles); creating one goes through `assessment_save`."""

    serializer_class = AssessmentSerializer
    ordering_fields = ("period_start", "score", "id")
    queryset = Assessment.objects.order_by("-period_start", "pk")

    def perform_create(self, serializer):
        serializer.instance = assessment_save(assessment=Assessment(**serializer.validated_data), acting_user=self.request.user)


@extend_schema(tags=["payroll"])
class OneOffItemViewSet(_EntryViewSet):
    """One-off items (county-wide payroll roles); creating one goes through `one_off_item_save`."""

    serializer_class = OneOffItemSerializer
    ordering_fields = ("month", "amount", "id")
    queryset = OneOffItem.objects.order_by("-month", "pk")

    def perform_create(self, serializer):
        serializer.instance = one_off_item_save(item=OneOffItem(**serializer.validated_data), acting_user=self.request.user)
