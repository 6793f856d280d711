"""The admin page of API tokens (`/admin/clinics/userscope/api-tokens/`, registered from
`UserScopeAdmin.get_urls`, linked from the user roles and reach list): county-wide admins list,
issue, rotate and revoke terminals' tokens (`clinics.api_tokens`). A token just made is shown on
the answer to that POST only, with a copy button, never stored in the session or a URL, and the
page is not cached (Cache-Control: no-store): it is never shown again.

django-rest-knox's own admin of its model is taken off the site: it lists digests, lets anyone
with the model's permission add a token, and shows the new token in a message kept in the session."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from knox.models import AuthToken

from clinics.api_tokens import api_token_holders, api_token_issue, api_token_list, api_token_revoke, api_token_rotate
from clinics.scoping import is_county_wide

if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


def _require_issuer(request) -> None:
    if not is_county_wide(request.user):
        raise PermissionDenied(_("Only a county-wide admin can issue, rotate or revoke API tokens."))


def _messages(exc: ValidationError) -> list[str]:
    return exc.messages


def _page(request, admin_site, *, issued=None, replaced=None, errors=(), status=200):
    context = {
        **admin_site.each_context(request),
        "title": _("API tokens"),
        "tokens": api_token_list(user=request.user),
        "holders": api_token_holders(),
        "default_days": settings.API_TOKEN_TTL_DAYS,
        "max_days": settings.API_TOKEN_MAX_TTL_DAYS,
        "default_grace_hours": settings.API_TOKEN_ROTATION_GRACE_HOURS,
        "issued": issued,
        "replaced": replaced,
        "errors": list(errors),
        "posted": request.POST if request.method == "POST" else {},
    }
    response = TemplateResponse(request, "admin/clinics/api_tokens.html", context, status=status)
    add_never_cache_headers(response)  # the page with a new token must not stay in any cache
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private"
    return response


def api_tokens_page(request, admin_site):
    """GET: the list and the form to issue; POST action=issue|rotate|revoke."""
    _require_issuer(request)
    if request.method != "POST":
        return _page(request, admin_site)
    action = request.POST.get("action")
    reason = request.POST.get("reason", "").strip()[:500]
    try:
        if action == "issue":
            issued = api_token_issue(
                user_id=request.POST.get("user"), days=request.POST.get("days"), acting_user=request.user, reason=reason
            )
            return _page(request, admin_site, issued=issued)
        if action == "rotate":
            digest = request.POST.get("token", "")
            issued = api_token_rotate(
                digest=digest,
                days=request.POST.get("days"),
                grace_hours=request.POST.get("grace_hours"),
                acting_user=request.user,
                reason=reason,
            )
            return _page(request, admin_site, issued=issued, replaced=digest)
        if action == "revoke":
            token = api_token_revoke(digest=request.POST.get("token", ""), acting_user=request.user, reason=reason)
            messages.success(
                request,
                _("The token %(token)s… of %(user)s is revoked: requests with it are refused from now on.")
                % {"token": token.token_key, "user": token.user.username},
            )
            return HttpResponseRedirect(reverse("admin:clinics_api_tokens"))
    except ValidationError as exc:
        return _page(request, admin_site, errors=_messages(exc), status=400)
    return _page(request, admin_site, errors=[_("Choose what to do: issue, rotate or revoke a token.")], status=400)


def api_token_urls(admin_site) -> list:
    """For `UserScopeAdmin.get_urls`: the page under the admin site's login and staff check."""
    return [
        path(
            "api-tokens/",
            admin_site.admin_view(lambda request: api_tokens_page(request, admin_site)),
            name="clinics_api_tokens",
        )
    ]
