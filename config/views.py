from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from clinics.roles import GROUP_NAMES, ROLE_PERMISSIONS
from clinics.scoping import user_role
from config.admin_site import TECHNICAL_APP_LABELS
from core import api
from core.portal import menu_for


@login_required
def portal_home(request):
    role = user_role(request.user)
    scope = getattr(request.user, "scope", None)
    return render(
        request,
        "portal/home.html",
        {"menu": menu_for(role), "scope": scope, "doctor": getattr(request.user, "doctor", None)},
    )


def favicon(request):
    """The product's icon at the address browsers ask for on their own. The static URL is read per
    request: at import time the production manifest may not exist yet (before collectstatic)."""
    return HttpResponsePermanentRedirect(static("portal/icon.svg"))

ADMIN_ACTIONS = {"add": "add", "delete": "delete", "change": "change"}


def _admin_model(request):
    """(app_label, action) of the admin page asked for, or None when it is not a model's page."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.namespace != "admin" or not match.url_name:
        return None
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if match.url_name.startswith(prefix):
            suffix = match.url_name[len(prefix):]
            action = ADMIN_ACTIONS.get(suffix, "view")
            if action == "change" and request.method in ("GET", "HEAD"):
                action = "view"
            return model._meta.app_label, action
    return None


def roles_needed(request) -> list[str]:
    """The roles (by their Chinese group names) whose permissions open the refused admin page; an
    empty list when the page is not a model's or no role is known for it."""
    found = _admin_model(request)
    if found is None:
        return []
    app_label, action = found
    if app_label in TECHNICAL_APP_LABELS:
        return [_("system administrator (superuser)")]
    return [GROUP_NAMES[role] for role, apps in ROLE_PERMISSIONS.items() if action in apps.get(app_label, ())]


def home_url(user) -> str:
    if not user.is_authenticated:
        return reverse("portal:login")
    return reverse("admin:index") if user.is_staff else reverse("portal:home")


def permission_denied(request, exception=None):
    """The one refusal page: JSON under /api/ (core.api), elsewhere a Chinese page naming the
    roles that may open it and linking back to the user's home."""
    if request.path.startswith(api.API_PREFIX):
        return api.permission_denied(request, exception)
    message = str(exception or "")
    context = {
        "message": message if message and message != "PermissionDenied" else "",
        "roles": roles_needed(request),
        "home_url": home_url(request.user),
        "role_name": GROUP_NAMES.get(user_role(request.user), "") if request.user.is_authenticated else "",
    }
    return render(request, "403.html", context, status=403)
