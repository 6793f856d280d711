"""The OpenAPI schema documents the error answers every operation can give, in the API's one error
shape (`core.errors.error_body`, the `Error` component), so clients (the generated client, and the
schemathesis run in CI) know them: 400 bad input, 401 not signed in or a bad token, 403 role or
reach, 404 unknown object, 429 too many requests, and for writes 409 (a conflict) and 415 (a body
that is not JSON). An operation may document a richer body for a code (teleconsult's 409 lists its
codes); the defaults fill in every code it leaves out."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every 4xx and 5xx answer of the API."""

    code = serializers.CharField(
        help_text=_("Machine code, stable for programs: invalid, parse_error, not_authenticated, authentication_failed, "
                    "permission_denied, not_found, method_not_allowed, unsupported_media_type, throttled, conflict, "
                    "busy, server_error, or a refusal's own code (e.g. slot_full).")
    )
    detail = serializers.CharField(help_text=_("What went wrong and what to do, in the user's language (Chinese)."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("One list of messages per input field (a nested field as a dotted path: 3.setl_id); empty when "
                    "the refusal is not about a field."),
    )


ERRORS = {
    400: _("Bad input (code invalid or parse_error): `fields` says what to fix."),
    401: _("Not signed in, or the API token is unknown, expired or revoked (not_authenticated, authentication_failed, token_expired)."),
    403: _("This role may not do this, or the object is outside the user's reach (permission_denied)."),
    404: _("No such object in the user's reach (not_found)."),
    429: _("Too many requests (throttled): wait as Retry-After says."),
}
WRITE_ERRORS = {
    409: _("Conflicts with data saved at the same time, or with the object's state (conflict, busy, or the refusal's code)."),
    415: _("The body is not JSON (unsupported_media_type): send Content-Type: application/json."),
}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def error_response(code: int, description=None) -> OpenApiResponse:
    """The documented error answer for `code`, for an operation's own `responses=`."""
    return OpenApiResponse(ErrorSerializer, description=str(description or {**ERRORS, **WRITE_ERRORS}[code]))


class AutoSchema(SpectacularAutoSchema):
    def _is_viewset_extra_action(self) -> bool:
        """A viewset's own action (`summary`, `gaps`): it answers what it returns, neither
        filtered nor paged by the list's backends (drf-spectacular would document both)."""
        action = getattr(self.view, "action", None)
        return action is not None and action not in ("list", "retrieve", "create", "update", "partial_update", "destroy")

    def get_filter_backends(self):
        return [] if self._is_viewset_extra_action() else super().get_filter_backends()

    def _get_paginator(self):
        return None if self._is_viewset_extra_action() else super()._get_paginator()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = {**ERRORS, **(WRITE_ERRORS if self.method in WRITE_METHODS else {})}
        for code, description in errors.items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(error_response(code, description), str(code))
        return responses
