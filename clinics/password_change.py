"""A one-time password must be replaced at first use: a login created or reset by an admin carries
UserScope.must_change_password, and until its user sets a password of their own every page (the
phone pages and the admin alike) leads to the Chinese "set your own password" page. Django's
password validators apply; the change is audited (never the password)."""

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from clinics.models import UserScope
from core.audit import audit_record

PASSWORD_URL_NAME = "portal:password_set"


def password_change_require(user) -> None:
    """Mark the user's login as holding a one-time password (called with it set: a new login or a
    reset), so the next sign-in leads to setting their own."""
    UserScope.objects.filter(user_id=user.pk).update(must_change_password=True)


def password_change_required(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    try:
        return bool(user.scope.must_change_password)
    except UserScope.DoesNotExist:  # a superuser without a role
        return False


class OneTimePasswordMustBeChanged:
    """Middleware (after AuthenticationMiddleware): a signed-in user with a one-time password is
    sent to the set-password page from every page but that one, log-out and static files."""

    EXEMPT_PREFIXES = ("/static/", "/media/", "/favicon.ico", "/m/sw.js", "/m/manifest.webmanifest")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and password_change_required(user) and not self._exempt(request.path):
            target = reverse(PASSWORD_URL_NAME)
            if request.method == "GET" and request.path not in ("/", "/m/", "/admin/"):
                target += "?next=" + request.get_full_path()
            return redirect(target)
        return self.get_response(request)

    def _exempt(self, path: str) -> bool:
        exempt = (reverse(PASSWORD_URL_NAME), reverse("portal:logout"), reverse("admin:logout"))
        return path in exempt or path.startswith(self.EXEMPT_PREFIXES)


def _home_for(user) -> str:
    return reverse("admin:index") if user.is_staff else reverse("portal:home")


@login_required(login_url="portal:login")
def password_set(request):
    """Set your own password (the one-time one was shown to an admin once). Also open to any signed-in
    user who wants to change theirs."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    required = password_change_required(request.user)
    # Right after signing in with the one-time password it is not asked again; any other change
    # asks for the current password, so a session left open is not enough to take the account.
    form = (SetPasswordForm if required else PasswordChangeForm)(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            was_required = UserScope.objects.filter(user_id=user.pk, must_change_password=True).update(
                must_change_password=False
            )
            audit_record(
                actor=user, action="user.password_set", target=user,
                changes={"must_change_password": [bool(was_required), False]},
            )
        update_session_auth_hash(request, user)
        return redirect(next_url or _home_for(user))
    return render(
        request, "portal/password_set.html",
        {"form": form, "next": next_url, "required": required},
    )
