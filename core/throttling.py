"""API rate limits (DRF throttles), counted in Django's cache under the client address that
`core.lockout.client_ip` gives (so a limit and a log-in lockout name the same address).

- Anonymous calls, by client address (rate "anon"). Every API view needs a signed-in user, so DRF's
  own AnonRateThrottle, which runs after the permission check, would never see one: here a call
  without credentials is counted by the first permission class and a call with a wrong token by the
  token authentication, both before the 401.
- Writes on a view with a `throttle_scope` (the settlement upload: "uploads"), per user, so one
  insurance terminal cannot flood the log.

Over the limit the API answers 429 with a Chinese message saying how long to wait, and a
Retry-After header. Rates are settings (THROTTLE_ANON_RATE, THROTTLE_UPLOAD_RATE) read at each
request."""

import math

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from core.lockout import client_ip
from core.tokens import TokenRefused, api_token_authenticate


def describe_rate(rate: str) -> str:
    """"60/min" → "60 requests per minute", in the user's language."""
    num, period = rate.split("/")
    num = int(num)
    unit = period[0]
    if unit == "s":
        return _("%(num)d requests per second") % {"num": num}
    if unit == "m":
        return _("%(num)d requests per minute") % {"num": num}
    if unit == "h":
        return _("%(num)d requests per hour") % {"num": num}
    return _("%(num)d requests per day") % {"num": num}


class RateLimited(Throttled):
    """429 with a message that says the limit and how long to wait."""

    def __init__(self, *, wait: float | None, rate: str):
        seconds = max(1, math.ceil(wait)) if wait is not None else None
        if seconds is None:
            detail = _("Too many requests (the limit is %(rate)s). Wait a moment, then send again.") % {
                "rate": describe_rate(rate)
            }
        else:
            detail = _("Too many requests (the limit is %(rate)s). Wait %(seconds)d seconds, then send again.") % {
                "rate": describe_rate(rate),
                "seconds": seconds,
            }
        super().__init__(detail=detail)
        self.wait = seconds  # DRF's handler turns it into Retry-After


class CunyiRateMixin:
    """Rates from the current settings (not frozen at import), the trusted client address, and a
    RateLimited error instead of DRF's English one."""

    def get_rate(self):
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(f"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'] has no rate for scope {self.scope!r}.")
        return rates[self.scope]

    def get_ident(self, request):
        return client_ip(request) or "unknown"

    def throttle_failure(self):
        raise RateLimited(wait=self.wait(), rate=self.rate)


class AnonymousRateThrottle(CunyiRateMixin, SimpleRateThrottle):
    """Calls without valid credentials, counted per client address."""

    scope = "anon"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def count(self, request) -> None:
        """Count one anonymous call; raises RateLimited over the rate."""
        if self.rate is not None:
            self.allow_request(request, None)


class ScopedWriteRateThrottle(CunyiRateMixin, ScopedRateThrottle):
    """Writes (POST, PUT, PATCH, DELETE) on a view that names a `throttle_scope`, per user (per
    address for an anonymous caller); reads of the same view are not counted."""

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = request.user.pk
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousCallsLimited(BasePermission):
    """First of the default permission classes: a call with no credentials counts against the
    address's anonymous rate (and is refused with 429 over it) before IsAuthenticated's 401."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            AnonymousRateThrottle().count(request)
        return True


class RateLimitedTokenAuthentication(BaseAuthentication):
    """API tokens (django-rest-knox, `core.tokens`): `Authorization: Bearer <token>` (what OpenAPI's
    bearer scheme and generated clients send) or `Authorization: Token <token>` (DRF's word, which
    terminals configured before use). A wrong, revoked or expired token answers 401 with
    WWW-Authenticate and counts against the address's anonymous rate, so tokens cannot be guessed
    at full speed. `request.auth` is the token row."""

    keywords = (b"bearer", b"token")

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() not in self.keywords:
            return None  # no token: the session, or anonymous
        try:
            if len(words) != 2:
                raise AuthenticationFailed(
                    _("The Authorization header must be “Bearer” followed by one space and the token."),
                    code="authentication_failed",
                )
            return self.authenticate_credentials(words[1])
        except AuthenticationFailed:
            AnonymousRateThrottle().count(request)
            raise

    def authenticate_credentials(self, raw: bytes):
        try:
            token = api_token_authenticate(raw.decode("ascii"))
        except (UnicodeDecodeError, TokenRefused) as exc:
            if isinstance(exc, TokenRefused) and exc.reason == "expired":
                raise AuthenticationFailed(
                    _("This API token expired on %(date)s. Ask the county health bureau's admin for a new one.")
                    % {"date": f"{timezone.localtime(exc.token.expiry):%Y-%m-%d %H:%M}"},
                    code="token_expired",
                ) from None
            raise AuthenticationFailed(
                _("The API token is not valid (mistyped, revoked or replaced). Check the terminal's setting."),
                code="authentication_failed",
            ) from None
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class RateLimitedTokenScheme(OpenApiAuthenticationExtension):
    """The schema's security scheme: HTTP bearer, so generated clients send `Bearer <token>`."""

    target_class = RateLimitedTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": _(
                "An API token issued by a county-wide admin (admin → user roles and reach → API tokens). "
                "Send Authorization: Bearer <token>; Token <token> is accepted too."
            ),
        }
