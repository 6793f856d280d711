"""Who sees the inbox in the phone menu and who manages the outbox in the admin. notifications knows
no roles: the apps that define the people register them (staffing: village doctors; telemedicine:
consultants; clinics: county-wide roles manage), from their AppConfig.ready()."""

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

from core.portal import register_menu_item

INBOX_ROLES: set = set()
MANAGER_CHECKS: list[Callable] = []


def register_inbox_role(role: str) -> None:
    """Users of `role` get the inbox ("Messages") in the phone menu."""
    INBOX_ROLES.add(role)
    register_menu_item(key="inbox", label=_("Messages"), url_name="notifications:inbox", roles=INBOX_ROLES, order=10, icon="inbox",
                       offline=True)


def register_manager_check(check: Callable) -> None:
    """`check(user) -> bool`: whether `user` may see and act on every user's notifications in the admin."""
    if check not in MANAGER_CHECKS:
        MANAGER_CHECKS.append(check)


def may_manage(user) -> bool:
    """Superusers, and whoever a registered check admits; nobody else (not even staff with permissions)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or any(check(user) for check in MANAGER_CHECKS))
