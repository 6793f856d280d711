"""Role-level access to API views, applied to every view by REST_FRAMEWORK's default permission
classes (reach is then narrowed in each selector's queryset)."""

from django.http import HttpResponseForbidden
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from clinics.models import Role
from clinics.scoping import user_role


class RoleAllowed(BasePermission):
    """A view lists the roles it serves in `allowed_roles` (every signed-in role when absent).
    An insurance terminal (role api_client) may only call the actions a view names in
    `terminal_actions` (the settlement upload); everything else answers 403."""

    message = _("You do not have permission to do this.")

    def has_permission(self, request, view):
        role = user_role(request.user)
        if role == Role.API_CLIENT:
            return getattr(view, "action", None) in getattr(view, "terminal_actions", ())
        allowed = getattr(view, "allowed_roles", None)
        return allowed is None or role in allowed


class TerminalsOnlyUseTheApi:
    """An insurance terminal's account (role api_client) exists to upload settlements through the
    API. Signed in with a session, it gets 403 on every page — phone portal and admin alike —
    except logging in and out."""

    OPEN_PREFIXES = ("/api/", "/m/login/", "/m/logout/", "/static/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(self.OPEN_PREFIXES) and user_role(getattr(request, "user", None)) == Role.API_CLIENT:
            return HttpResponseForbidden(
                _("This account belongs to an insurance terminal: it can only upload settlements through the API."),
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
