"""The bureau accounts page under 用户角色与范围 (UserScopeAdmin): create an account with role and
reach (its one-time password shown once), and for a chosen account reset the password or
deactivate / reactivate the login. Writes go through clinics.accounts, which checks who may give what."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics.accounts import (
    ACCOUNT_ROLES,
    TOWNSHIP_GRANTABLE,
    account_create,
    account_manage_check,
    account_reset_password,
    account_set_active,
)
from clinics.models import Facility, Role, Township
from clinics.scoping import is_county_wide, scope_facilities, user_role

ACCOUNT_MANAGERS = (Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN)


def account_list_scope(queryset, user):
    """The accounts page's rows (UserScope): every account for a county-wide role; for a township
    admin the township admins and village doctors of their own township (the accounts they may
    create and manage); nothing for anyone else."""
    if is_county_wide(user):
        return queryset
    if user_role(user) == Role.TOWNSHIP_ADMIN:
        own = user.scope.township_id
        return queryset.filter(Q(township_id=own) | Q(facility__township_id=own), role__in=TOWNSHIP_GRANTABLE)
    return queryset.none()


def account_tools(user) -> dict:
    """Which of the accounts page's buttons the user may use (a button that can only fail is not
    shown): new account for the county and township admins, locked log-ins for the county admin,
    API tokens for the county-wide roles."""
    role = user_role(user)
    return {
        "can_create_account": role in ACCOUNT_MANAGERS,
        "can_unlock": role == Role.COUNTY_ADMIN,
        "can_issue_tokens": is_county_wide(user),
    }


def account_manageable(user, account) -> bool:
    """Whether the reset and (de)activate buttons of `account` would be accepted for `user`."""
    try:
        account_manage_check(acting_user=user, user=account)
    except ValidationError:
        return False
    return True


class AccountCreateForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("username"), max_length=150)
    name = forms.CharField(label=gettext_lazy("full name"), max_length=150, required=False)
    role = forms.ChoiceField(label=gettext_lazy("role"), choices=[(r.value, r.label) for r in ACCOUNT_ROLES])
    township = forms.ModelChoiceField(label=gettext_lazy("township"), queryset=Township.objects.none(), required=False)
    facility = forms.ModelChoiceField(label=gettext_lazy("facility"), queryset=Facility.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        facilities = scope_facilities(Facility.objects.all(), user).order_by("name")
        self.fields["facility"].queryset = facilities
        townships = Township.objects.order_by("name")
        if user_role(user) != "county_admin":  # a township admin: their township, roles not above theirs
            townships = townships.filter(pk=user.scope.township_id)
            self.fields["role"].choices = [(r.value, r.label) for r in ACCOUNT_ROLES if r in TOWNSHIP_GRANTABLE]
        self.fields["township"].queryset = townships
        self.fields["facility"].help_text = _("For a village doctor or a consultant: the clinic or hospital they work at.")
        self.fields["township"].help_text = _("For a township admin: their township. County-wide roles need neither.")


def _one_time_page(request, admin_site, account, password):
    context = {
        **admin_site.each_context(request),
        "title": _("One-time password"),
        "account": account,
        "password": password,
        "back_url": reverse("admin:clinics_userscope_changelist"),
    }
    response = TemplateResponse(request, "admin/clinics/userscope/one_time_password.html", context)
    response["Cache-Control"] = "no-store"
    return response


def account_create_view(request, admin_site):
    if user_role(request.user) not in ACCOUNT_MANAGERS:
        raise PermissionDenied(_("Only the county admin or a township admin manages accounts."))
    form = AccountCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account, password = account_create(
                acting_user=request.user, username=data["username"], name=data["name"], role=data["role"],
                township=data["township"], facility=data["facility"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            return _one_time_page(request, admin_site, account, password)
    context = {**admin_site.each_context(request), "title": _("New account"), "form": form}
    return TemplateResponse(request, "admin/clinics/userscope/account_create.html", context)


def account_action_view(request, admin_site, user_id):
    """POST action=reset | deactivate | activate for one account."""
    account = get_object_or_404(get_user_model().objects.select_related("scope"), pk=user_id)
    back = HttpResponseRedirect(reverse("admin:clinics_userscope_changelist"))
    if request.method != "POST":
        return back
    action = request.POST.get("action")
    try:
        if action == "reset":
            return _one_time_page(request, admin_site, account, account_reset_password(acting_user=request.user, user=account))
        if action in ("deactivate", "activate"):
            account_set_active(acting_user=request.user, user=account, active=action == "activate")
            messages.success(
                request,
                (_("%(username)s can sign in again.") if action == "activate" else _("%(username)s can no longer sign in."))
                % {"username": account.get_username()},
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return back


def account_urls(admin_site) -> list:
    return [
        path("accounts/new/", admin_site.admin_view(lambda r: account_create_view(r, admin_site)), name="clinics_account_create"),
        path(
            "accounts/<int:user_id>/action/",
            admin_site.admin_view(lambda r, user_id: account_action_view(r, admin_site, user_id)),
            name="clinics_account_action",
        ),
    ]
