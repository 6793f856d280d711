"""REST API of rosters: the month's duty days of a clinic, leave, swaps, gaps, summary, and the
generate and publish actions. Every list is scoped by reach in its selector."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.models import Facility, Role, Township
from clinics.scoping import has_role, scope_facilities
from core.months import month_end, parse_month
from staffing.models import Doctor
from staffing.rosters import selectors
from staffing.rosters.exports import XLSX, month_summary_xlsx_response
from staffing.rosters.serializers import (
    CoverSerializer,
    DecisionSerializer,
    DutyDaySerializer,
    GapSerializer,
    GenerateResultSerializer,
    LeaveGapPreviewSerializer,
    LeaveRequestSerializer,
    MonthActionSerializer,
    PublishResultSerializer,
    SummaryClinicSerializer,
    SwapAnswerSerializer,
    SwapRequestSerializer,
)
from staffing.rosters.services.gaps import gap_assign_cover
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.leave import leave_cancel, leave_decide, leave_gap_preview, leave_request_create
from staffing.rosters.services.publishing import roster_publish
from staffing.rosters.services.swaps import swap_cancel, swap_consent, swap_decide, swap_request_create
from staffing.selectors import doctor_list

# Rosters and leave (reasons may be about health): not for the insurance clerk, consultants or terminals.
ROSTER_ROLES = (Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.PAYROLL_OFFICER, Role.VILLAGE_DOCTOR)


def _month_param(request, name: str = "month"):
    return _month_text(request.query_params.get(name, ""), name)


def _month_text(text: str, name: str = "month"):
    return parse_month(text, field=name)


@extend_schema(
    tags=["rosters"],
    parameters=[
        OpenApiParameter("clinic", OpenApiTypes.STR, required=True, description="clinic division code"),
        OpenApiParameter("month", OpenApiTypes.STR, required=True, description="YYYY-MM"),
    ],
    responses=DutyDaySerializer(many=True),
)
class RosterView(APIView):
    """The clinic's duty days in the month: date, doctor, duty (day or on_call), holiday, status."""

    allowed_roles = ROSTER_ROLES

    def get(self, request):
        month = _month_param(request)
        code = request.query_params.get("clinic", "").strip()
        if not code:
            raise ValidationError({"clinic": [_("Give the clinic's 12-digit division code, e.g. clinic=451028100201.")]})
        facility = selectors.clinic_in_reach(user=request.user, code=code)
        if facility is None:
            raise NotFound(_("No clinic with this code is in your reach."))
        duties = selectors.roster_duty_list(user=request.user, facility=facility, month=month)
        holidays = selectors.holidays_between(start=month, end=month_end(month))
        return Response(DutyDaySerializer(duties, many=True, context={"holidays": holidays}).data)


class _Decide:
    def _decide(self, request, decide, obj, serializer_class):
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        extra = {"exceed_balance": body.validated_data["exceed_balance"]} if serializer_class is LeaveRequestSerializer else {}
        result = decide(obj, approve=body.validated_data["approve"], note=body.validated_data.get("note", ""), **extra)
        return Response(serializer_class(result).data)

    def _withdraw(self, request, withdraw, serializer_class):
        """The requester withdraws a request not yet decided; a decided one is a 409."""
        return Response(serializer_class(withdraw(self.get_object(), acting_user=request.user)).data)


def _doctor_for(request, doctor_id):
    """The doctor a request is for: oneself, or (for an admin) a doctor in reach."""
    if doctor_id is None:
        doctor = getattr(request.user, "doctor", None)
        if doctor is None:
            raise ValidationError({"doctor_id": [_("Say which doctor this request is for.")]})
        return doctor
    doctor = doctor_list(user=request.user).filter(pk=doctor_id).first()
    if doctor is None:
        raise ValidationError({"doctor_id": [_("No doctor with this id is in your reach.")]})
    return doctor


@extend_schema(tags=["rosters"])
class LeaveRequestViewSet(_Decide, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    allowed_roles = ROSTER_ROLES
    serializer_class = LeaveRequestSerializer
    filterset_fields = ["status", "kind"]
    ordering_fields = ("start_date", "requested_at", "id")

    def get_queryset(self):
        queryset = selectors.leave_request_list(user=self.request.user)
        if has_role(self.request.user, Role.VILLAGE_DOCTOR):
            queryset = queryset.filter(doctor__user=self.request.user)
        return queryset.order_by("-start_date", "-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        leave = leave_request_create(
            doctor=_doctor_for(request, data.get("doctor_id")),
            kind=data["kind"],
            start_date=data["start_date"],
            end_date=data["end_date"],
            reason=data["reason"],
            acting_user=request.user,
            approve=data["approve"],
            note=data["note"],
            exceed_balance=data["exceed_balance"],
        )
        return Response(self.get_serializer(leave).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=LeaveRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._withdraw(request, lambda leave, **kw: leave_cancel(leave=leave, **kw), LeaveRequestSerializer)

    @extend_schema(request=DecisionSerializer, responses=LeaveRequestSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        return self._decide(
            request,
            lambda leave, **kw: leave_decide(leave=leave, acting_user=request.user, **kw),
            self.get_object(),
            LeaveRequestSerializer,
        )

    @extend_schema(responses=LeaveGapPreviewSerializer(many=True))
    @action(detail=True, methods=["get"])
    def gaps(self, request, pk=None):
        """The coverage gaps approving this leave would create."""
        return Response(LeaveGapPreviewSerializer(leave_gap_preview(leave=self.get_object()), many=True).data)


@extend_schema(tags=["rosters"])
class SwapRequestViewSet(_Decide, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    allowed_roles = ROSTER_ROLES
    serializer_class = SwapRequestSerializer
    filterset_fields = ["status"]
    ordering_fields = ("give_date", "requested_at", "id")

    def get_queryset(self):
        queryset = selectors.swap_request_list(user=self.request.user)
        if has_role(self.request.user, Role.VILLAGE_DOCTOR):
            doctor = getattr(self.request.user, "doctor", None)
            queryset = queryset.filter(requester=doctor) | queryset.filter(counterpart=doctor)
        return queryset.order_by("-give_date", "-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        requester = _doctor_for(request, data.get("requester_id"))
        counterpart = Doctor.objects.filter(pk=data["counterpart_id"]).first()
        if counterpart is None:
            raise ValidationError({"counterpart_id": [_("No doctor with this id.")]})
        swap = swap_request_create(
            requester=requester,
            counterpart=counterpart,
            give_date=data["give_date"],
            take_date=data.get("take_date"),
            reason=data["reason"],
            acting_user=request.user,
        )
        return Response(self.get_serializer(swap).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        return self._decide(
            request,
            lambda swap, **kw: swap_decide(swap=swap, acting_user=request.user, **kw),
            self.get_object(),
            SwapRequestSerializer,
        )

    @extend_schema(request=None, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._withdraw(request, lambda swap, **kw: swap_cancel(swap=swap, **kw), SwapRequestSerializer)

    @extend_schema(request=SwapAnswerSerializer, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        """The colleague agrees (the township decides next) or declines (the swap ends)."""
        body = SwapAnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        swap = swap_consent(swap=self.get_object(), agree=body.validated_data["agree"], acting_user=request.user)
        return Response(SwapRequestSerializer(swap).data)


@extend_schema(tags=["rosters"])
@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM")]))
class GapViewSet(viewsets.ReadOnlyModelViewSet):
    """Coverage gaps in reach, open ones with their cover candidates."""

    allowed_roles = ROSTER_ROLES
    serializer_class = GapSerializer
    filterset_fields = ["status"]
    ordering_fields = ("date", "id")

    def get_queryset(self):
        queryset = selectors.gap_list(user=self.request.user)
        if self.action == "list" and self.request.query_params.get("month"):
            month = _month_param(self.request)
            queryset = queryset.filter(date__gte=month, date__lte=month_end(month))
        return queryset.order_by("date", "facility__code")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._candidates = selectors.cover_candidates([g for g in (page or []) if g.status == "open"])
        return page

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["candidates"] = getattr(self, "_candidates", {})
        return context

    def retrieve(self, request, *args, **kwargs):
        gap = self.get_object()
        self._candidates = selectors.cover_candidates([gap] if gap.status == "open" else [])
        return Response(self.get_serializer(gap).data)

    @extend_schema(request=CoverSerializer, responses=GapSerializer)
    @action(detail=True, methods=["post"])
    def cover(self, request, pk=None):
        gap = self.get_object()
        body = CoverSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        doctor = get_object_or_404(doctor_list(user=request.user), pk=body.validated_data["doctor_id"])
        gap_assign_cover(gap=gap, doctor=doctor, acting_user=request.user, reason=body.validated_data.get("reason", ""))
        gap.refresh_from_db()
        return Response(GapSerializer(gap, context={"candidates": {}}).data)


def _township(request, code):
    if not code:
        return None
    township = Township.objects.filter(code=code).first()
    if township is None:
        raise ValidationError({"township": [_("No township has the code %(code)s.") % {"code": code}]})
    return township


@extend_schema(
    tags=["rosters"], request=MonthActionSerializer,
    responses={200: GenerateResultSerializer},
)
class GenerateView(APIView):
    """Plan a month (drafts are replaced, published months kept)."""

    allowed_roles = ROSTER_ROLES

    def post(self, request):
        body = MonthActionSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        month = _month_text(body.validated_data["month"])
        facility = None
        if body.validated_data.get("clinic"):
            facility = scope_facilities(Facility.objects.filter(code=body.validated_data["clinic"]), request.user).first()
            if facility is None:
                raise NotFound(_("No clinic with this code is in your reach."))
        result = roster_generate(
            month=month, township=_township(request, body.validated_data.get("township")), facility=facility,
            acting_user=request.user,
        )
        return Response(
            {"month": f"{month:%Y-%m}", "clinics": result.clinics, "created": result.created, "replaced": result.replaced,
             "kept_published": result.skipped_published, "duties": result.duties, "gaps": result.gaps}
        )


@extend_schema(
    tags=["rosters"], request=MonthActionSerializer,
    responses={200: PublishResultSerializer},
)
class PublishView(APIView):
    """Publish the month's drafts of a township (or the county) and notify the doctors."""

    allowed_roles = ROSTER_ROLES

    def post(self, request):
        body = MonthActionSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        month = _month_text(body.validated_data["month"])
        count = roster_publish(
            month=month, township=_township(request, body.validated_data.get("township")), acting_user=request.user
        )
        return Response({"month": f"{month:%Y-%m}", "published": count})


def _check_summary_access(user):
    if not has_role(user, Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.PAYROLL_OFFICER):
        raise DjangoPermissionDenied(_("The month summary is for the county, township admins and payroll."))


@extend_schema(
    tags=["rosters"],
    parameters=[
        OpenApiParameter("month", OpenApiTypes.STR, required=True, description="YYYY-MM"),
        OpenApiParameter("township", OpenApiTypes.STR, description="township code"),
    ],
    responses={200: SummaryClinicSerializer(many=True)},
)
class SummaryView(APIView):
    """Month summary per clinic: on-call days per doctor (weekend and holiday apart), leave, gaps."""

    allowed_roles = ROSTER_ROLES

    def get(self, request):
        _check_summary_access(request.user)
        month = _month_param(request)
        summary = selectors.month_summary(user=request.user, month=month, township_code=request.query_params.get("township"))
        return Response(
            [
                {
                    "clinic": c.facility.code,
                    "clinic_name": c.facility.name,
                    "status": c.status,
                    "open_gaps": c.open_gaps,
                    "covered_gaps": c.covered_gaps,
                    "doctors": [
                        {"id": d.doctor_id, "name": d.name, "day_duties": d.day_duties, "weekend_oncall": d.weekend_oncall,
                         "holiday_oncall": d.holiday_oncall, "leave_days": d.leave_days}
                        for d in c.doctors
                    ],
                }
                for c in summary
            ]
        )


@extend_schema(tags=["rosters"], responses={(200, XLSX): bytes})
class SummaryXlsxView(SummaryView):
    def get(self, request):
        _check_summary_access(request.user)
        month = _month_param(request)
        return month_summary_xlsx_response(user=request.user, month=month, township_code=request.query_params.get("township"))
