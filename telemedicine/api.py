"""Teleconsult API: departments, open slots, bookings and their lifecycle actions.

Refusals: 400 for input the caller must change, 403 for the wrong person, 404 outside reach,
409 when the slot is full, the patient already booked, or the consult has moved on. A database
serialization failure or deadlock is retried and, if it persists, becomes a 409."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from clinics.models import Role
from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_KEY_REUSED, idempotent
from core.retry import with_retry
from telemedicine.exceptions import BUSY_MESSAGE
from telemedicine.models import Slot
from telemedicine.selectors import booking_list, department_list, open_slot_list
from telemedicine.serializers import (
    BookingCreateSerializer,
    BookingDetailSerializer,
    BookingSerializer,
    CompleteSerializer,
    ConflictSerializer,
    DepartmentSerializer,
    ErrorSerializer,
    ReasonSerializer,
    RescheduleSerializer,
    SlotQuerySerializer,
    SlotSerializer,
)
from telemedicine.services import bookings
from telemedicine.services.patients import Patient


def run_service(func, **kwargs):
    """Call a write service, retried when the database is busy; a refusal (`core.errors`: a
    BookingConflict, Busy) is answered by the API's exception handler with its own status and code."""
    return with_retry(func, busy_message=BUSY_MESSAGE, **kwargs)


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input (code invalid): `fields` says what to fix."),
    403: OpenApiResponse(ErrorSerializer, description="Not the consult's doctor or consultant, or not allowed for this role."),
    404: OpenApiResponse(ErrorSerializer, description="No such consult in your reach."),
    409: OpenApiResponse(
        ConflictSerializer, description="Slot full, patient already booked at that time, or the consult's state forbids it."
    ),
}


def _responses(ok, *codes):
    return {200: ok, **{code: ERRORS[code] for code in codes}}


# Consults hold patients' health data: only the parties and the admins of their reach.
CONSULT_ROLES = (Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.VILLAGE_DOCTOR, Role.CONSULTANT)


@extend_schema(tags=["teleconsult"])
class DepartmentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Departments of the county hospital and township centres that take teleconsults."""

    allowed_roles = CONSULT_ROLES
    serializer_class = DepartmentSerializer
    pagination_class = None

    def get_queryset(self):
        return department_list()


@extend_schema(tags=["teleconsult"])
@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("department", int, required=True, description="Department id"),
            OpenApiParameter("date", str, required=True, description="Local date YYYY-MM-DD"),
        ],
        responses={200: SlotSerializer(many=True), 400: ERRORS[400]},
    )
)
class SlotViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Open slots (with a free place) of a department on a day."""

    allowed_roles = CONSULT_ROLES
    serializer_class = SlotSerializer
    pagination_class = None
    ordering_fields = ("starts_at", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Slot.objects.none()
        query = SlotQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return open_slot_list(department_id=query.validated_data["department"], day=query.validated_data["date"])


@extend_schema(tags=["teleconsult"])
@extend_schema_view(
    list=extend_schema(description="Own consults: the village doctor's bookings, the consultant's consults."),
    retrieve=extend_schema(responses={200: BookingDetailSerializer, 404: ERRORS[404]}),
    create=extend_schema(
        request=BookingCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: BookingSerializer, **{code: ERRORS[code] for code in (400, 403, 409)}, 422: IDEMPOTENCY_KEY_REUSED},
        description="Book a place in a slot for a patient (village doctors). Send an Idempotency-Key so a retry after "
        "a timeout gets this booking back instead of a 409; without one, a retry gets 409 patient_overlap naming the "
        "existing booking (`booking`, `booking_url`).",
    ),
)
class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    allowed_roles = CONSULT_ROLES
    serializer_class = BookingSerializer
    filterset_fields = ["status"]
    ordering_fields = ("starts_at", "requested_at", "id")

    def get_queryset(self):
        queryset = booking_list(user=self.request.user).order_by("-starts_at", "-id")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("events__actor")
        return queryset

    def get_serializer_class(self):
        return BookingDetailSerializer if self.action == "retrieve" else BookingSerializer

    @idempotent("teleconsult.booking.create")
    def create(self, request, *args, **kwargs):
        data = BookingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        patient = Patient(
            name=values["patient_name"],
            sex=values["patient_sex"],
            birth_date=values.get("patient_birth_date"),
            age=values.get("patient_age"),
            id_number=values.get("patient_id_number", ""),
            poverty_household=values.get("poverty_household", False),
        )
        booking = run_service(
            bookings.booking_create,
            slot_id=values["slot"],
            acting_user=request.user,
            patient=patient,
            chief_complaint=values["chief_complaint"],
            urgency=values["urgency"],
            mode=values["mode"],
        )
        return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)

    def _booking(self):
        booking = booking_list(user=self.request.user).filter(pk=self.kwargs["pk"]).first()
        if booking is None:
            raise NotFound(_("No such consult in your reach."))
        return booking

    def _done(self, booking):
        fresh = self.get_queryset().get(pk=booking.pk)
        return Response(BookingSerializer(fresh).data)

    def _act(self, service, serializer_class=None, **extra):
        """Validate the body (if any), run the lifecycle service on the booking in reach, answer
        with the booking as it is now."""
        values = {}
        if serializer_class is not None:
            data = serializer_class(data=self.request.data)
            data.is_valid(raise_exception=True)
            values = dict(data.validated_data)
        values.update(extra)
        return self._done(run_service(service, booking=self._booking(), acting_user=self.request.user, **values))

    @extend_schema(request=None, responses=_responses(BookingSerializer, 403, 404, 409))
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._act(bookings.booking_confirm)

    @extend_schema(request=ReasonSerializer, responses=_responses(BookingSerializer, 400, 403, 404, 409))
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._act(bookings.booking_decline, ReasonSerializer)

    @extend_schema(request=None, responses=_responses(BookingSerializer, 400, 403, 404, 409))
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._act(bookings.booking_start)

    @extend_schema(request=CompleteSerializer, responses=_responses(BookingSerializer, 400, 403, 404, 409))
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._act(bookings.booking_complete, CompleteSerializer)

    @extend_schema(request=ReasonSerializer, responses=_responses(BookingSerializer, 400, 403, 404, 409))
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._act(bookings.booking_cancel, ReasonSerializer)

    @extend_schema(request=RescheduleSerializer, responses=_responses(BookingSerializer, 400, 403, 404, 409))
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        data = RescheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(bookings.booking_reschedule, slot_id=data.validated_data["slot"], reason=data.validated_data["reason"])
