"""API tokens of terminals and other software (django-rest-knox's `AuthToken`): made here, checked
here, their use recorded here. Issuing, rotating and revoking for a person is
`clinics.api_tokens` (who may, and the audit trail); authenticating a request is
`core.throttling.RateLimitedTokenAuthentication`.

A token is `cunyi_` and 64 hex digits (256 random bits), shown once when made. The database keeps
only its first 15 characters (to find it, and to name it in lists) and its SHA-512 digest; the
digest is compared in constant time. Every token has an expiry; an expired one is refused (401) and
stays listed RETENTION_API_TOKENS_DAYS, then `api_tokens_purge` (the daily retention run) deletes
it. Tokens made by rest_framework.authtoken before (40 hex digits, stored in plain text) were moved
here by core's migration 0005: their digest was computed from the stored key, so they keep working
until their expiry."""

import datetime
from hmac import compare_digest

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS

from core.models import ApiTokenUse

# The longest token accepted at all: knox's 10-character prefix and 64 hex digits, with room to
# spare; anything longer is refused before hashing.
MAX_TOKEN_LENGTH = 200
USE_RECORD_INTERVAL = datetime.timedelta(minutes=5)
# The user's one-to-one rows read with the token in its one SELECT (`register_user_related`).
_USER_RELATED: list[str] = []


def register_user_related(name: str) -> None:
    """Read the user's one-to-one relation `name` in the token's SELECT: an app whose checks read
    that row on every API request (clinics: the role and reach) names it once, at start."""
    if name not in _USER_RELATED:
        _USER_RELATED.append(name)


class TokenRefused(Exception):
    """The token is unknown, revoked or expired; `reason` is "invalid" or "expired"."""

    def __init__(self, reason: str, token: AuthToken | None = None):
        super().__init__(reason)
        self.reason = reason
        self.token = token


def token_ttl(days: int | None = None) -> datetime.timedelta:
    return datetime.timedelta(days=settings.API_TOKEN_TTL_DAYS if days is None else days)


@transaction.atomic
def api_token_create(*, user, expiry: datetime.datetime | None = None) -> tuple[AuthToken, str]:
    """A new token for `user`, valid until `expiry` (default: API_TOKEN_TTL_DAYS from now).
    Returns the row and the token itself, which exists nowhere else: show it once."""
    now = timezone.now()
    expiry = expiry or now + token_ttl()
    token, plain = AuthToken.objects.create(user=user, expiry=expiry - now)
    if token.expiry != expiry:  # the manager adds the delta to its own "now"
        AuthToken.objects.filter(digest=token.digest).update(expiry=expiry)
        token.expiry = expiry
    return token, plain


def api_token_authenticate(plain: str, *, now: datetime.datetime | None = None) -> AuthToken:
    """The token row `plain` names, its user loaded; TokenRefused when there is none, it has
    expired or its user may not log in."""
    now = now or timezone.now()
    if not plain or len(plain) > MAX_TOKEN_LENGTH or not plain.isascii() or not plain.isprintable():
        raise TokenRefused("invalid")
    digest = hash_token(plain)
    related = ["user", "use", *(f"user__{name}" for name in _USER_RELATED)]
    candidates = AuthToken.objects.filter(token_key=plain[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related(*related)
    for candidate in candidates:
        if compare_digest(digest, candidate.digest):
            if candidate.expiry is not None and candidate.expiry <= now:
                raise TokenRefused("expired", candidate)
            if not candidate.user.is_active:
                raise TokenRefused("invalid", candidate)
            api_token_record_use(candidate, now=now)
            return candidate
    raise TokenRefused("invalid")


def api_token_record_use(token: AuthToken, *, now: datetime.datetime) -> None:
    """Note that the token was used now, at most once per USE_RECORD_INTERVAL (one UPDATE then, no
    write on the other requests)."""
    try:
        last = token.use.last_used_at
    except ApiTokenUse.DoesNotExist:
        last = None
    if last is not None and now - last < USE_RECORD_INTERVAL:
        return
    if last is None:
        ApiTokenUse.objects.update_or_create(token_id=token.digest, defaults={"last_used_at": now})
    else:
        ApiTokenUse.objects.filter(token_id=token.digest, last_used_at__lt=now - USE_RECORD_INTERVAL).update(last_used_at=now)


def api_tokens_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete the tokens that expired more than RETENTION_API_TOKENS_DAYS ago; returns how many."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.RETENTION_API_TOKENS_DAYS)
    _total, per_model = AuthToken.objects.filter(expiry__lt=cutoff).delete()
    return per_model.get(AuthToken._meta.label, 0)
