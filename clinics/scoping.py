"""Reach: every user-scoped read passes through here, so a village doctor never sees another
clinic's data. Querysets are narrowed in the database, never after fetching."""

from django.db.models import Q, QuerySet

from clinics.models import Role

COUNTY_WIDE_ROLES = {Role.COUNTY_ADMIN, Role.PAYROLL_OFFICER, Role.INSURANCE_CLERK}


def user_role(user) -> str | None:
    if not user or not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.COUNTY_ADMIN
    scope = getattr(user, "scope", None)
    return scope.role if scope else None


def is_county_wide(user) -> bool:
    return user_role(user) in COUNTY_WIDE_ROLES


def has_role(user, *roles: str) -> bool:
    return user_role(user) in roles


def reach_filter(user, facility_path: str = "facility") -> Q | None:
    """The condition on `facility_path` that keeps rows in the user's reach.

    None means everything (county-wide); an impossible condition means nothing."""
    role = user_role(user)
    if role is None:
        return Q(pk__in=[])
    if role in COUNTY_WIDE_ROLES:
        return None
    scope = user.scope
    if role == Role.TOWNSHIP_ADMIN:
        return Q(**{f"{facility_path}__township_id": scope.township_id})
    return Q(**{f"{facility_path}_id": scope.facility_id})


def reach_key(user) -> str:
    """The reach `reach_filter` gives `user`, as text: the key part of an answer kept per reach
    (users of the same reach share it; a user of no reach has a key of their own kind)."""
    role = user_role(user)
    if role is None:
        return "none"
    if role in COUNTY_WIDE_ROLES:
        return "county"
    scope = user.scope
    if role == Role.TOWNSHIP_ADMIN:
        return f"township:{scope.township_id}"
    return f"facility:{scope.facility_id}"


def scope_queryset(queryset: QuerySet, user, *, facility_path: str = "facility") -> QuerySet:
    condition = reach_filter(user, facility_path)
    return queryset if condition is None else queryset.filter(condition)


def scope_facilities(queryset: QuerySet, user) -> QuerySet:
    """Narrow a Facility queryset itself to the user's reach."""
    role = user_role(user)
    if role is None:
        return queryset.none()
    if role in COUNTY_WIDE_ROLES:
        return queryset
    scope = user.scope
    if role == Role.TOWNSHIP_ADMIN:
        return queryset.filter(township_id=scope.township_id)
    return queryset.filter(pk=scope.facility_id)


# --- Reach on writes ------------------------------------------------------------------------------
# Every service that creates or changes a row checks the acting user's reach for the row and for
# every row it points to, before and after the change, through these two functions. A refusal is a
# ValidationError with the code "out_of_reach", so an import keeps it as the row's reason and the
# API answers 400 without telling whether the row exists.

OUT_OF_REACH = "out_of_reach"


def facility_in_reach(user, facility) -> bool:
    """True when `facility` (a Facility or its id) is inside the user's reach."""
    if facility is None:
        return False
    role = user_role(user)
    if role is None:
        return False
    if role in COUNTY_WIDE_ROLES:
        return True
    facility_id = getattr(facility, "pk", facility)
    scope = user.scope
    if role == Role.TOWNSHIP_ADMIN:
        township_id = getattr(facility, "township_id", None)
        if township_id is None:
            from clinics.models import Facility

            township_id = Facility.objects.filter(pk=facility_id).values_list("township_id", flat=True).first()
        return township_id == scope.township_id
    return facility_id == scope.facility_id


def require_facility_reach(user, facility, *, field: str | None = "facility") -> None:
    """Refuse a write that touches `facility` outside the user's reach."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if user is None or facility_in_reach(user, facility):
        return
    # The facility is not named: the refusal must not tell what lies beyond the acting user's reach.
    message = _("This facility is outside your reach; ask the county health bureau to make this change.")
    # The code goes on the message itself: Django drops a code given beside a dict of errors.
    error = ValidationError(message, code=OUT_OF_REACH)
    raise ValidationError({field: error}) if field else error


def require_county_wide(user, *, what: str) -> None:
    """Refuse an action only a county-wide role may take (a transfer between townships…)."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if user is None or is_county_wide(user):
        return
    raise ValidationError(
        _("%(what)s is a county health bureau action; ask the county admin.") % {"what": what}, code=OUT_OF_REACH
    )


# --- Choices and look-ups by model ----------------------------------------------------------------
# Apps above clinics register how their user-scoped models are narrowed to a user's reach (staffing
# registers Doctor), so form choices, autocompletes and API related fields are scoped from one place
# without clinics importing them.

_SCOPERS: dict = {}


def register_scoper(model, scoper) -> None:
    """`scoper(queryset, user) -> queryset` narrows rows of `model` to the user's reach."""
    _SCOPERS[model] = scoper


def scoper_for(model):
    return _SCOPERS.get(model)


def scope_choices(queryset: QuerySet, user) -> QuerySet:
    """The rows of `queryset` a user may point a write at; unregistered models are returned as
    they are (the caller decides)."""
    from clinics.models import Facility, Township

    model = queryset.model
    if model is Facility:
        return scope_facilities(queryset, user)
    if model is Township:
        role = user_role(user)
        if role is None:
            return queryset.none()
        if role in COUNTY_WIDE_ROLES:
            return queryset
        return queryset.filter(pk=getattr(user.scope, "township_id", None))
    scoper = _SCOPERS.get(model)
    return scoper(queryset, user) if scoper else queryset
