"""Roles as Django groups with permissions. Permissions are named by app label, so this module
needs none of the other apps' code."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from clinics.models import Role, UserScope
from core.audit import audit_record

ALL = ("add", "change", "delete", "view")
VIEW = ("view",)
EDIT = ("add", "change", "view")

# role -> {app_label: actions}
ROLE_PERMISSIONS: dict[str, dict[str, tuple]] = {
    Role.COUNTY_ADMIN: {
        "core": VIEW,  # the audit trail is read-only for everyone
        "clinics": ALL,
        "settlements": ALL,
        "staffing": ALL,
        "rosters": ALL,
        "payroll": ALL,
        "telemedicine": ALL,
        "notifications": ALL,
        "django_celery_beat": ALL,
    },
    Role.TOWNSHIP_ADMIN: {
        "core": VIEW,
        "clinics": VIEW,
        "staffing": EDIT,
        "rosters": EDIT,
        "payroll": VIEW,
        "settlements": VIEW,
        "telemedicine": VIEW,
        "notifications": VIEW,
    },
    Role.PAYROLL_OFFICER: {"payroll": ALL, "staffing": VIEW, "clinics": VIEW, "rosters": VIEW, "core": VIEW},
    Role.INSURANCE_CLERK: {"settlements": ALL, "clinics": VIEW, "core": VIEW},
    Role.VILLAGE_DOCTOR: {},
    Role.CONSULTANT: {},
    Role.API_CLIENT: {},
}
GROUP_NAMES = {
    Role.COUNTY_ADMIN: "县卫健局管理员",
    Role.TOWNSHIP_ADMIN: "乡镇卫生院管理员",
    Role.PAYROLL_OFFICER: "工资专员",
    Role.INSURANCE_CLERK: "医保专员",
    Role.VILLAGE_DOCTOR: "乡村医生",
    Role.CONSULTANT: "会诊专家",
    Role.API_CLIENT: "接口终端",
}
STAFF_ROLES = {Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.PAYROLL_OFFICER, Role.INSURANCE_CLERK}


def _permissions_for(role: str):
    condition = Q(pk__in=[])
    for app_label, actions in ROLE_PERMISSIONS[role].items():
        for action in actions:
            condition |= Q(content_type__app_label=app_label, codename__startswith=f"{action}_")
    return Permission.objects.filter(condition)


@transaction.atomic
def seed_roles(counts: dict) -> None:
    counts.setdefault("group", {"created": 0, "existing": 0})
    for role in Role:
        group, created = Group.objects.get_or_create(name=GROUP_NAMES[role])
        group.permissions.set(_permissions_for(role))
        counts["group"]["created" if created else "existing"] += 1


@transaction.atomic
def role_assign(*, user, role: str, township=None, facility=None, acting_user=None) -> UserScope:
    """Give a user a role and reach; their group and staff flag follow the role."""
    scope = UserScope.objects.filter(user=user).first() or UserScope(user=user)
    scope.role, scope.township, scope.facility = role, township, facility
    scope.full_clean()  # the friendly message before the check constraint would refuse it
    scope.save()
    names = set(GROUP_NAMES.values())
    user.groups.remove(*Group.objects.filter(name__in=names).exclude(name=GROUP_NAMES[role]))
    group, _ = Group.objects.get_or_create(name=GROUP_NAMES[role])
    if not group.permissions.exists() and ROLE_PERMISSIONS[role]:
        group.permissions.set(_permissions_for(role))
    user.groups.add(group)
    is_staff = role in STAFF_ROLES
    if user.is_staff != is_staff and not user.is_superuser:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    audit_record(
        actor=acting_user,
        action="role.assign",
        target=scope,
        changes={"role": role, "township": getattr(township, "code", None), "facility": getattr(facility, "code", None)},
    )
    return scope
