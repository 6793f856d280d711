from django.db.models import QuerySet

from clinics.models import Department, Facility, Role, Township
from clinics.scoping import is_county_wide, scope_facilities, user_role
from clinics.scoping import reach_key as reach_key  # the dashboard keys what it keeps per reach by it


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


# --- For ingest: a clinic named by either of its codes ---------------------------------------

def facility_ids_by_code(queryset: QuerySet | None = None) -> dict[str, int]:
    """{code: facility id} for every clinic of `queryset` (all clinics by default), keyed by its
    register (division) code AND by its platform institution code (定点医药机构编号, H + 11
    digits) when it has one, so an upload's `fixmedins_code` may carry either. The two kinds
    never clash (`Facility.clean` keeps every code apart from every platform code); should a row
    stored before that rule clash, the register code wins. Not scoped: the caller narrows
    `queryset` to what the uploader may name (enabled clinics, a terminal's own)."""
    return {code: pk for code, (pk, *_rest) in facility_rows_by_code(queryset).items()}


def facility_rows_by_code(queryset: QuerySet | None = None, *fields: str) -> dict[str, tuple]:
    """Like `facility_ids_by_code`, with more of each clinic: {code: (id, *fields)}, e.g.
    `facility_rows_by_code(None, "settlement_enabled")` → {"451028100001": (7, True), "H45102800001": (7, True)}."""
    queryset = Facility.objects.all() if queryset is None else queryset
    lookup: dict[str, tuple] = {}
    rows = list(queryset.values_list("code", "platform_code", "pk", *fields))
    for _code, platform_code, *values in rows:
        if platform_code:
            lookup[platform_code] = tuple(values)
    for code, _platform_code, *values in rows:
        lookup[code] = tuple(values)
    return lookup
