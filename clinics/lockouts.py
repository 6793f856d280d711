"""Locked log-ins: the county admin sees which accounts django-axes has locked, from which address,
after how many wrong passwords and since when, and unlocks one at once instead of letting the
person wait out the cool-off. Each unlock is audited.

A selector (`locked_login_list`), a service (`login_unlock`) and a thin admin page
(`/admin/clinics/userscope/lockouts/`, registered from `UserScopeAdmin.get_urls`)."""

import dataclasses
import datetime

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Min, Sum
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Role
from clinics.scoping import has_role
from core.audit import audit_record

LIST_LIMIT = 500


@dataclasses.dataclass(frozen=True)
class LockedLogin:
    username: str
    ip_address: str
    failures: int
    first_failure: datetime.datetime
    locked_since: datetime.datetime
    unlocks_at: datetime.datetime | None
    full_name: str


def _cool_off_threshold(now: datetime.datetime) -> datetime.datetime | None:
    cool_off = get_cool_off()
    return now - cool_off if cool_off else None


def _require_county_admin(user) -> None:
    if not has_role(user, Role.COUNTY_ADMIN):
        raise PermissionDenied(_("Only the county health bureau's admin can see and unlock locked log-ins."))


def locked_login_list(*, user, now: datetime.datetime | None = None) -> list[LockedLogin]:
    """Accounts locked right now: per (username, address), the failures django-axes still counts
    (those inside the cool-off) reach AXES_FAILURE_LIMIT. Newest lock first."""
    _require_county_admin(user)
    now = now or timezone.now()
    attempts = AccessAttempt.objects.all()
    threshold = _cool_off_threshold(now)
    if threshold is not None:
        attempts = attempts.filter(attempt_time__gt=threshold)
    grouped = (
        attempts.values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"), first=Min("attempt_time"), last=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-last", "username", "ip_address")[:LIST_LIMIT]
    )
    rows = list(grouped)
    names = {
        u.username: u.get_full_name()
        for u in get_user_model().objects.filter(username__in={row["username"] for row in rows})
    }
    cool_off = get_cool_off()
    return [
        LockedLogin(
            username=row["username"] or "",
            ip_address=row["ip_address"] or "",
            failures=row["failures"],
            first_failure=row["first"],
            locked_since=row["last"],
            unlocks_at=row["last"] + cool_off if cool_off else None,
            full_name=names.get(row["username"], ""),
        )
        for row in rows
    ]


@transaction.atomic
def login_unlock(*, username: str, ip_address: str, acting_user) -> int:
    """Unlock one username on one address (django-axes' own reset); returns the attempts removed.
    Audited against the account (or, for a username no account has, against the attempt row)."""
    _require_county_admin(acting_user)
    username = (username or "").strip()
    ip_address = (ip_address or "").strip()
    if not username or not ip_address:
        raise ValidationError(_("Choose a locked log-in to unlock: both the username and the address are needed."))
    attempts = list(
        AccessAttempt.objects.select_for_update().filter(username=username, ip_address=ip_address).order_by("attempt_time")
    )
    if not attempts:
        raise ValidationError(
            _("%(username)s is not locked from %(ip)s any more (the cool-off ended or someone unlocked it); reload the list.")
            % {"username": username, "ip": ip_address}
        )
    failures = sum(attempt.failures_since_start for attempt in attempts)
    account = get_user_model().objects.filter(username=username).first()
    audit_record(
        actor=acting_user,
        action="login.unlock",
        target=account or attempts[0],
        changes={
            "username": username,
            "ip_address": ip_address,
            "failures": failures,
            "locked_since": max(attempt.attempt_time for attempt in attempts),
        },
        reason=_("Unlocked by the county admin before the cool-off ended."),
    )
    removed = axes_reset(ip=ip_address, username=username)
    return removed


def lockout_page(request, admin_site):
    """GET: the locked log-ins; POST: unlock the one named by username and ip_address."""
    _require_county_admin(request.user)
    if request.method == "POST":
        username, ip_address = request.POST.get("username", ""), request.POST.get("ip_address", "")
        try:
            login_unlock(username=username, ip_address=ip_address, acting_user=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("%(username)s can log in again from %(ip)s.") % {"username": username, "ip": ip_address},
            )
        return HttpResponseRedirect(reverse("admin:clinics_lockouts"))
    context = {
        **admin_site.each_context(request),
        "title": _("Locked log-ins"),
        "locked": locked_login_list(user=request.user),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off_minutes": round(get_cool_off().total_seconds() / 60) if get_cool_off() else None,
    }
    return TemplateResponse(request, "admin/clinics/lockouts.html", context)


def lockout_urls(admin_site) -> list:
    """For `UserScopeAdmin.get_urls`: the page under the admin site's login and staff check."""
    return [
        path(
            "lockouts/",
            admin_site.admin_view(lambda request: lockout_page(request, admin_site)),
            name="clinics_lockouts",
        )
    ]
