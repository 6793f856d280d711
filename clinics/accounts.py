"""Bureau accounts: the county admin creates the logins of township admins, the payroll officer,
the insurance clerk, consultants and county admins with their role and reach, changes role and
reach, resets a password (a one-time one, shown once, changed at first sign-in) and deactivates or
reactivates a login. A township admin may only give a role not above their own (township admin,
village doctor) and only reach inside their township. Every change audited, never a password."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from clinics.models import Role
from clinics.password_change import password_change_require
from clinics.roles import role_assign
from clinics.scoping import OUT_OF_REACH, user_role
from core.audit import audit_record

ONE_TIME_PASSWORD_CHARS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or copied by hand
# What a township admin may give: nothing above their own role, and only inside their township.
TOWNSHIP_GRANTABLE = {Role.TOWNSHIP_ADMIN, Role.VILLAGE_DOCTOR}
# API clients get tokens on their own page, not a password.
ACCOUNT_ROLES = [r for r in Role if r != Role.API_CLIENT]


def _one_time_password() -> str:
    return get_random_string(10, ONE_TIME_PASSWORD_CHARS)


def _refuse(message: str):
    raise ValidationError(message, code=OUT_OF_REACH)


def account_grant_check(*, acting_user, role: str, township=None, facility=None) -> None:
    """Refuse giving `role` with this reach when the acting user may not: only a county admin gives
    any role; a township admin gives a township admin's or village doctor's role in their township."""
    acting_role = user_role(acting_user)
    if acting_role == Role.COUNTY_ADMIN:
        return
    if acting_role != Role.TOWNSHIP_ADMIN:
        _refuse(_("Only the county admin or a township admin manages accounts."))
    if role not in TOWNSHIP_GRANTABLE:
        _refuse(_("A township admin cannot give a role above their own; ask the county admin."))
    own = acting_user.scope.township_id
    reach_township = getattr(facility, "township_id", None) if facility is not None else getattr(township, "pk", None)
    if reach_township != own or (township is not None and township.pk != own):
        _refuse(_("This reach is outside your township; ask the county admin."))


def account_manage_check(*, acting_user, user) -> None:
    """Refuse changing an account the acting user could not have given (its role or reach is theirs
    to manage only if they could grant it now)."""
    if acting_user is not None and acting_user.pk == user.pk:
        _refuse(_("Your own account is changed by another admin, not by yourself."))
    scope = getattr(user, "scope", None)
    if user.is_superuser or scope is None:
        _refuse(_("This account is managed by the system administrator."))
    account_grant_check(acting_user=acting_user, role=scope.role, township=scope.township, facility=scope.facility)


@transaction.atomic
def account_create(*, acting_user, username: str, name: str, role: str, township=None, facility=None):
    """A new login with this role and reach and a one-time password, returned once (only its hash is
    stored); the first sign-in leads to setting one's own."""
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": _("Enter a username.")})
    if get_user_model().objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken; choose another one.")})
    if role not in ACCOUNT_ROLES:
        raise ValidationError({"role": _("Choose one of the roles listed.")})
    account_grant_check(acting_user=acting_user, role=role, township=township, facility=facility)
    password = _one_time_password()
    user = get_user_model().objects.create_user(username=username, password=password, first_name=(name or "")[:150])
    role_assign(user=user, role=role, township=township, facility=facility, acting_user=acting_user)
    password_change_require(user)
    audit_record(actor=acting_user, action="account.create", target=user, changes={"role": role})
    return user, password


@transaction.atomic
def account_change_role(*, acting_user, user, role: str, township=None, facility=None):
    """Change the account's role and reach; both the old and the new must be the acting user's to give."""
    account_manage_check(acting_user=acting_user, user=user)
    if role not in ACCOUNT_ROLES:
        raise ValidationError({"role": _("Choose one of the roles listed.")})
    account_grant_check(acting_user=acting_user, role=role, township=township, facility=facility)
    return role_assign(user=user, role=role, township=township, facility=facility, acting_user=acting_user)


@transaction.atomic
def account_reset_password(*, acting_user, user) -> str:
    """A new one-time password (the old password stops working), returned once; changed at first sign-in."""
    account_manage_check(acting_user=acting_user, user=user)
    password = _one_time_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    password_change_require(user)
    audit_record(actor=acting_user, action="account.password_reset", target=user, changes={})
    return password


@transaction.atomic
def account_set_active(*, acting_user, user, active: bool) -> None:
    """Deactivate a login (it can no longer sign in) or reactivate it."""
    account_manage_check(acting_user=acting_user, user=user)
    if user.is_active == active:
        return
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(
        actor=acting_user, action="account.activate" if active else "account.deactivate", target=user,
        changes={"is_active": [not active, active]},
    )
