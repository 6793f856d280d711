from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicsConfig(AppConfig):
    name = "clinics"
    label = "clinics"
    verbose_name = _("Register of clinics")

    def ready(self):
        from django.contrib.auth import get_user_model

        from clinics.models import Department
        from clinics.scoping import register_scoper, scope_queryset

        register_scoper(Department, lambda queryset, user: scope_queryset(queryset, user, facility_path="facility"))
        register_scoper(get_user_model(), scope_users)


def scope_users(queryset, user):
    """Accounts a user may link a row to (a doctor's login, a consultant's): those whose role and
    reach lie inside the user's reach; every account for county-wide roles."""
    from django.db.models import Q

    from clinics.models import Role
    from clinics.scoping import COUNTY_WIDE_ROLES, user_role

    role = user_role(user)
    if role is None:
        return queryset.none()
    if role in COUNTY_WIDE_ROLES:
        return queryset
    scope = user.scope
    if role == Role.TOWNSHIP_ADMIN:
        return queryset.filter(Q(scope__township_id=scope.township_id) | Q(scope__facility__township_id=scope.township_id))
    return queryset.filter(scope__facility_id=scope.facility_id)
