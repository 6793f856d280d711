"""API tokens of the county's terminals (accounts with the role api_client): a county-wide admin
issues one with the expiry chosen, sees it once, lists them (its first characters, when made, when
it expires, when it was last used), revokes one, or rotates one (a new token, the old one kept for
the grace period chosen so the terminal can be switched over). Each step is audited against the
terminal's account. The tokens themselves are made and checked by `core.tokens`.

A selector (`api_token_list`), services (`api_token_issue`, `api_token_revoke`,
`api_token_rotate`) and a thin admin page (`clinics.api_tokens_admin`, under user roles and
reach); `manage.py issue_api_token` for operators on the server (acting user None)."""

import dataclasses
import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from knox.models import AuthToken

from clinics.models import Role
from clinics.scoping import is_county_wide
from core.audit import audit_record
from core.tokens import api_token_create

LIST_LIMIT = 500


@dataclasses.dataclass(frozen=True)
class IssuedToken:
    """A token just made: `plain` is the token itself, to show once and never again."""

    row: AuthToken
    plain: str


def _require_issuer(acting_user) -> None:
    """County-wide roles only; None is an operator on the server (`manage.py issue_api_token`)."""
    if acting_user is not None and not is_county_wide(acting_user):
        raise PermissionDenied(_("Only a county-wide admin can issue, rotate or revoke API tokens."))


def api_token_holders():
    """The accounts that may hold a token: active users with the role api_client."""
    return (
        get_user_model()
        .objects.filter(is_active=True, scope__role=Role.API_CLIENT)
        .select_related("scope__facility")
        .order_by("username")
    )


def api_token_list(*, user, now: datetime.datetime | None = None) -> list[AuthToken]:
    """Every terminal's tokens, newest first, each with `state` ("valid", "expiring" within the
    rotation grace, "expired") and its last use."""
    _require_issuer(user)
    now = now or timezone.now()
    tokens = list(
        AuthToken.objects.filter(user__scope__role=Role.API_CLIENT)
        .select_related("user__scope__facility", "use")
        .order_by("user__username", "-created")[:LIST_LIMIT]
    )
    soon = now + datetime.timedelta(hours=settings.API_TOKEN_ROTATION_GRACE_HOURS)
    for token in tokens:
        token.last_used_at = getattr(getattr(token, "use", None), "last_used_at", None)
        if token.expiry is not None and token.expiry <= now:
            token.state = "expired"
        elif token.expiry is not None and token.expiry <= soon:
            token.state = "expiring"
        else:
            token.state = "valid"
    return tokens


def _clean_days(days) -> int:
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= settings.API_TOKEN_MAX_TTL_DAYS:
        raise ValidationError(
            {"days": _("A token is valid for 1 to %(max)s days.") % {"max": settings.API_TOKEN_MAX_TTL_DAYS}}
        )
    return days


def _holder(user_id):
    holder = api_token_holders().filter(pk=user_id).first() if str(user_id or "").isdigit() else None
    if holder is None:
        raise ValidationError(
            {"user": _("Choose an active account with the role “API client (insurance terminal)”: only terminals hold API tokens.")}
        )
    return holder


def _token(digest: str, *, for_update: bool = True) -> AuthToken:
    queryset = AuthToken.objects.filter(digest=digest or "", user__scope__role=Role.API_CLIENT).select_related("user")
    token = (queryset.select_for_update(of=("self",)) if for_update else queryset).first()
    if token is None:
        raise ValidationError(_("This token does not exist any more (revoked or expired and deleted); reload the list."))
    return token


@transaction.atomic
def api_token_issue(*, user_id, days, acting_user, reason: str = "") -> IssuedToken:
    """A new token for the terminal account `user_id`, valid `days` days. Returns it with the
    token itself, shown once."""
    _require_issuer(acting_user)
    holder = _holder(user_id)
    days = _clean_days(days)
    row, plain = api_token_create(user=holder, expiry=timezone.now() + datetime.timedelta(days=days))
    audit_record(
        actor=acting_user,
        action="api_token.issue",
        target=holder,
        changes={"token": row.token_key, "expires": row.expiry},
        reason=reason,
    )
    return IssuedToken(row=row, plain=plain)


@transaction.atomic
def api_token_revoke(*, digest: str, acting_user, reason: str = "") -> AuthToken:
    """Revoke a token at once (deleted: the next request with it answers 401)."""
    _require_issuer(acting_user)
    token = _token(digest)
    audit_record(
        actor=acting_user,
        action="api_token.revoke",
        target=token.user,
        changes={"token": token.token_key, "expires": token.expiry},
        reason=reason,
    )
    AuthToken.objects.filter(digest=token.digest).delete()
    return token


@transaction.atomic
def api_token_rotate(*, digest: str, days, grace_hours, acting_user, reason: str = "") -> IssuedToken:
    """A new token for the same terminal, and the old one revoked after `grace_hours` (0: at once;
    otherwise it expires then, unless it expires sooner anyway)."""
    _require_issuer(acting_user)
    old = _token(digest)
    days = _clean_days(days)
    try:
        grace_hours = int(grace_hours)
    except (TypeError, ValueError):
        grace_hours = -1
    if not 0 <= grace_hours <= 24 * 30:
        raise ValidationError({"grace_hours": _("The old token's grace period is 0 to 720 hours (30 days).")})
    now = timezone.now()
    issued_row, plain = api_token_create(user=old.user, expiry=now + datetime.timedelta(days=days))
    if grace_hours == 0:
        AuthToken.objects.filter(digest=old.digest).delete()
        old_until = now
    else:
        old_until = now + datetime.timedelta(hours=grace_hours)
        if old.expiry is not None and old.expiry < old_until:
            old_until = old.expiry
        AuthToken.objects.filter(digest=old.digest).update(expiry=old_until)
    audit_record(
        actor=acting_user,
        action="api_token.rotate",
        target=old.user,
        changes={"token": issued_row.token_key, "expires": issued_row.expiry, "replaces": old.token_key, "old_valid_until": old_until},
        reason=reason,
    )
    return IssuedToken(row=issued_row, plain=plain)
