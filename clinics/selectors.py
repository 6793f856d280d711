from django.db.models import QuerySet

from clinics.models import Department, Township
from clinics.scoping import is_county_wide, user_role


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
