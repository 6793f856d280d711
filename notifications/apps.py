from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from clinics.models import Role
        from core.portal import register_menu_item

        register_menu_item(
            key="inbox",
            label=_("Messages"),
            url_name="notifications:inbox",
            roles={Role.VILLAGE_DOCTOR, Role.CONSULTANT},
            order=10,
            icon="✉",
        )
