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
