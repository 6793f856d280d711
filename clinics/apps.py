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

        from clinics.scoping import is_county_wide
        from notifications.access import register_manager_check

        register_manager_check(is_county_wide)  # county-wide roles manage the outbox in the admin

        from core.tokens import register_user_related

        register_user_related("scope")  # every API permission check reads the role (`user_role`)


def scope_users(queryset, user):
    """Accounts a user may link a row to (a doctor's login, a consultant's): those whose role and
    reach lie inside the user's reach; every account for county-wide roles. The clinic accounts come
    from the one reach rule (`reach_filter` on the account's facility); a township admin also reaches
    his township's own accounts."""
    from django.db.models import Q

    from clinics.models import Role
    from clinics.scoping import reach_filter, user_role

    condition = reach_filter(user, "scope__facility")
    if condition is None:
        return queryset
    if user_role(user) == Role.TOWNSHIP_ADMIN:
        condition |= Q(scope__township_id=user.scope.township_id)
    return queryset.filter(condition)
