
from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from clinics.models import Role
from clinics.settlements.filters import SettlementFilter
from clinics.settlements.selectors import clinic_month_summary, settlement_list
from clinics.settlements.serializers import (
    ClinicSummarySerializer,
    SettlementRecordSerializer,
    SettlementUploadRowSerializer,
    UploadReportSerializer,
)
from clinics.settlements.services import MAX_API_ROWS, can_upload, settlements_import
from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_KEY_REUSED, idempotent
from core.months import parse_month
from core.tabular import TableError, enforce_upload_limits

REPORTED_REJECTS = 1000


class NewestFirst(CursorPagination):
    """Cursor pages: no COUNT(*) over a log of millions of rows, and stable while rows arrive."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000




def _text(value):
    """NUL characters and lone surrogates cannot be stored (PostgreSQL refuses them): drop them, so
    the row is judged on what is left instead of failing the whole upload."""
    if not isinstance(value, str):
        return value
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


@extend_schema(tags=["settlements"])
class SettlementViewSet(viewsets.GenericViewSet):
    """The settlement log: read in the user's reach, append by upload. No update or delete."""

    serializer_class = SettlementRecordSerializer
    pagination_class = NewestFirst
    filterset_class = SettlementFilter
    ordering_fields = ("id", "settled_at", "recorded_at")
    ordering = ("-id",)  # the cursor's order when no ?ordering= is given
    # Health and insurance data: not for payroll or consultants; a terminal may only upload.
    allowed_roles = (Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.INSURANCE_CLERK, Role.VILLAGE_DOCTOR)
    terminal_actions = ("create",)
    throttle_scope = "uploads"  # uploads per user (an insurance terminal), THROTTLE_UPLOAD_RATE; reads are not counted

    def get_queryset(self):
        return settlement_list(user=self.request.user)

    def list(self, request):
        """Newest first (cursor pages); filter by setl_id, month (YYYY-MM), clinic (code), insutype."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=SettlementUploadRowSerializer(many=True),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: UploadReportSerializer, 422: IDEMPOTENCY_KEY_REUSED},
    )
    @idempotent("settlements.upload")
    def create(self, request):
        """Upload up to 5,000 settlements as a JSON list. Idempotent on setl_id: a resent row is
        counted as a duplicate; bad rows are reported (and kept) while good rows land.

        Synchronous on purpose (issue #19): a terminal sends a bounded batch (MAX_API_ROWS, and a
        body within DATA_UPLOAD_MAX_MEMORY_SIZE), a second or two of work; a larger request is
        refused (400) with the advice to send fewer per request. Large files go through the
        admin's upload page, which imports them as a job (clinics.settlements.jobs)."""
        if not can_upload(request.user):
            raise PermissionDenied(_("Only the insurance clerk, the county admin or an insurance terminal may upload settlements."))
        try:
            # The size of the request, as for a file, before DRF parses it.
            enforce_upload_limits(request.body, "settlements.json")
        except RawPostDataException:
            pass  # the stream was read already, so it was parsed within DATA_UPLOAD_MAX_MEMORY_SIZE
        except RequestDataTooBig as exc:
            raise ValidationError(
                {"detail": [_("The request is larger than %(limit)s MB (DATA_UPLOAD_MAX_MEMORY_SIZE); send fewer settlements per request.")
                            % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)}]}
            ) from exc
        except TableError as exc:
            raise ValidationError({"detail": [str(exc)]}) from exc
        body = request.data
        if not isinstance(body, list):
            raise ValidationError({"detail": [_("Send a JSON list of settlements.")]})
        if len(body) > MAX_API_ROWS:
            raise ValidationError({"detail": [_("Send at most %(max)s settlements per request; split the list.") % {"max": MAX_API_ROWS}]})
        not_objects = [i for i, item in enumerate(body, start=1) if not isinstance(item, dict)]
        if not_objects:
            raise ValidationError({"detail": [_("Items %(items)s are not JSON objects.") % {"items": ", ".join(map(str, not_objects[:20]))}]})
        nested = [i for i, item in enumerate(body, start=1) if any(isinstance(v, (list, dict)) for v in item.values())]
        if nested:
            # A list or an object is no settlement field's value; stored as text it would become
            # a Python repr ("['x']") that no platform sent.
            raise ValidationError({"detail": [
                _("Items %(items)s have a list or an object as a field's value; send each field as text or a number.")
                % {"items": ", ".join(map(str, nested[:20]))}
            ]})
        rows = [(number, {_text(k): _text(v) for k, v in item.items()}) for number, item in enumerate(body, start=1)]
        batch = settlements_import(source="api", acting_user=request.user, rows=rows)
        rejected = batch.rejected_rows.order_by("row_number")[:REPORTED_REJECTS]
        report = {
            "batch": batch.pk,
            "accepted": batch.accepted,
            "duplicates": batch.duplicates,
            "rejected": batch.rejected,
            "rejected_rows": [{"row": r.row_number, "setl_id": r.setl_id, "reason": r.reason} for r in rejected],
            "warned": batch.warned,
            # Accepted rows breaking an amount relation not yet confirmed (SETTLEMENT_CONFIRMED_RELATIONS).
            "warnings": [{"row": w.row_number, "setl_id": w.setl_id, "code": w.code, "warning": w.message}
                         for w in batch.warnings.order_by("row_number", "code")[:REPORTED_REJECTS]],
        }
        return Response(report, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="YYYY-MM", required=True)],
        responses=ClinicSummarySerializer(many=True),
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def summary(self, request):
        """Per clinic in the user's reach: visits net of reversals and the sum of each fund."""
        month = parse_month(request.query_params.get("month"))
        rows = clinic_month_summary(user=request.user, month=month)
        return Response(ClinicSummarySerializer(rows, many=True).data)
