"""Project-wide API plumbing: pagination, strict ordering, the month field, and the error edge.

Every refusal of the API answers in one shape (`core.errors.error_body`):
`{"code": "not_found", "detail": "中文说明", "fields": {"month": ["…"]}}` — the exception handler
maps each error to its status once (`core.errors.DomainError` by its own status and code, DRF's and
Django's errors by theirs) and never lets one become a 500; the handlers below answer every other
URL under /api/ (an unknown path, a server error) in the same shape, never with an HTML page."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError, error_body

API_PREFIX = "/api/"
NON_FIELD_KEYS = ("detail", "non_field_errors", "__all__")


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-11"})
class MonthField(serializers.DateField):
    """A month, read and written as YYYY-MM (stored as the month's first day)."""

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m", input_formats=["%Y-%m"], **kwargs)


# --- Errors ---------------------------------------------------------------------------------------


def _flatten(detail, prefix="") -> dict[str, list[str]]:
    """DRF's nested error detail as one list of messages per field path ("rows.3.setl_id")."""
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        out = {}
        for index, item in enumerate(detail):
            if item:
                out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix: [str(m) for m in messages]} if messages else {}


def _invalid(fields: dict[str, list[str]]) -> dict:
    general = [m for key in NON_FIELD_KEYS for m in fields.pop(key, [])]
    detail = " ".join(general) or _("Some input is not valid: see the message under each field.")
    return error_body("invalid", detail, fields)


def validation_error_body(exc) -> dict:
    """A DRF or Django ValidationError as the error body (code `invalid`)."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    else:
        detail = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
    return _invalid(_flatten(detail))


def _api_error_code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def exception_handler(exc, context):
    response = _error_response(exc, context)
    if response is not None:
        # An error is JSON whatever the view renders otherwise (the schema's YAML, the browsable
        # API's HTML for Accept: text/html): a client parses one error shape everywhere under /api/.
        request = context.get("request")
        if request is not None:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
    return response


def _error_response(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_body(), status=int(exc.status))
    if isinstance(exc, DjangoValidationError):
        return Response(validation_error_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or _("You do not have permission to do this.")
        return Response(error_body("permission_denied", message), status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, IntegrityError):
        message = _("This change conflicts with data saved at the same time. Reload and try again.")
        return Response(error_body("conflict", message), status=status.HTTP_409_CONFLICT)
    response = drf_exception_handler(exc, context)  # Http404 → NotFound; headers (WWW-Authenticate, Retry-After)
    if response is None:
        return None  # a server error: Django's handler500 answers it (server_error below for /api/)
    if isinstance(exc, Http404):
        response.data = error_body("not_found", _("Not found."))
    elif isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(exc)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        if isinstance(detail, (dict, list)):
            fields = _flatten(detail if isinstance(detail, dict) else {"detail": detail})
            general = [m for key in NON_FIELD_KEYS for m in fields.pop(key, [])]
            response.data = error_body(_api_error_code(exc), " ".join(general) or str(exc.default_detail), fields)
        else:
            response.data = error_body(_api_error_code(exc), detail)
    return response


# --- Every other answer under /api/ (config/urls.py's handler404 and handler500) ----------------------


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def page_not_found(request, exception=None):
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    message = _("There is no API endpoint at this address; the list of endpoints is at /api/schema/.")
    return JsonResponse(error_body("not_found", message), status=404, json_dumps_params={"ensure_ascii": False})


def server_error(request):
    if not _is_api(request):
        return defaults.server_error(request)
    message = _("The server failed to answer this request. It has been logged; try again later.")
    return JsonResponse(error_body("server_error", message), status=500, json_dumps_params={"ensure_ascii": False})


def bad_request(request, exception=None):
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    message = _("The request could not be understood (bad host, headers or body).")
    return JsonResponse(error_body("bad_request", message), status=400, json_dumps_params={"ensure_ascii": False})


def permission_denied(request, exception=None):
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    message = str(exception or "") or _("You do not have permission to do this.")
    return JsonResponse(error_body("permission_denied", message), status=403, json_dumps_params={"ensure_ascii": False})


# --- Ordering -------------------------------------------------------------------------------------


class StrictOrderingFilter(OrderingFilter):
    """DRF's `?ordering=` with each list's explicit `ordering_fields`, but an unknown field is a 400
    (DRF ignores it, and the client gets an order it did not ask for). The primary key breaks ties,
    so pages do not overlap. A view without `ordering_fields` takes no `ordering`."""

    def get_ordering(self, request, queryset, view):
        text = request.query_params.get(self.ordering_param)
        if text is None:
            return self.get_default_ordering(view)
        allowed = self.allowed_fields(view)
        wanted = [term.strip() for term in text.split(",") if term.strip()]
        unknown = [term for term in wanted if term.lstrip("-") not in allowed]
        if not allowed or unknown or not wanted:
            choices = ", ".join(allowed) or _("(this list has a fixed order)")
            raise exceptions.ValidationError(
                {self.ordering_param: [_("Cannot order by %(fields)s. Order by one of: %(choices)s; put - in front for descending.")
                                       % {"fields": ", ".join(unknown) or repr(text), "choices": choices}]}
            )
        if not any(term.lstrip("-") in ("pk", "id") for term in wanted):
            wanted.append("-pk" if wanted[0].startswith("-") else "pk")
        return wanted

    @staticmethod
    def allowed_fields(view) -> list[str]:
        return list(getattr(view, "ordering_fields", None) or ())

    def get_schema_operation_parameters(self, view):
        allowed = self.allowed_fields(view)
        if not allowed:
            return []
        names = "|".join(allowed)
        return [{
            "name": self.ordering_param,
            "required": False,
            "in": "query",
            "description": _("Order by: %(choices)s; several separated by commas; - in front for descending.")
            % {"choices": ", ".join(allowed)},
            "schema": {"type": "string", "pattern": rf"^-?({names})(,-?({names}))*$"},
        }]
