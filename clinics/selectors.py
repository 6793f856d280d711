from django.db.models import QuerySet

from clinics.models import Department, Facility, Role, Township
from clinics.scoping import is_county_wide, scope_facilities, user_role


def township_list(*, user) -> QuerySet:
    if user_role(user) is None:
        return Township.objects.none()
    if is_county_wide(user):
        return Township.objects.all()
    return Township.objects.filter(pk=user.scope.township_id)


def department_list(*, active_only: bool = True) -> QuerySet:
    """Departments are a public directory for booking: every logged-in user may read them."""
    queryset = Department.objects.select_related("facility")
    return queryset.filter(is_active=True, facility__is_active=True) if active_only else queryset


# --- For the dashboard ----------------------------------------------------------------------

DASHBOARD_ROLES = frozenset({Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.PAYROLL_OFFICER, Role.INSURANCE_CLERK})


def has_dashboard(*, user) -> bool:
    """The roles that oversee clinics see the bureau's dashboard on the admin index."""
    return user_role(user) in DASHBOARD_ROLES


def reach_is_county_wide(*, user) -> bool:
    return is_county_wide(user)


def village_clinic_list(*, user, active_only: bool = False) -> QuerySet:
    """Village clinics in the user's reach, by code."""
    queryset = Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC)
    if active_only:
        queryset = queryset.filter(is_active=True)
    return scope_facilities(queryset, user).order_by("code")
