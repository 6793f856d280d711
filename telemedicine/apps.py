from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemedicineConfig(AppConfig):
    name = "telemedicine"
    label = "telemedicine"
    verbose_name = _("Teleconsultation")

    def ready(self):
        from clinics.models import Role
        from config.portal import register_menu_item

        register_menu_item(
            key="teleconsult",
            label=_("Teleconsults"),
            url_name="telemedicine:my_bookings",
            roles={Role.VILLAGE_DOCTOR},
            order=30,
            icon="☎",
        )
        register_menu_item(
            key="teleconsult_book",
            label=_("Book a teleconsult"),
            url_name="telemedicine:find_slots",
            roles={Role.VILLAGE_DOCTOR},
            order=31,
            icon="＋",
        )
        register_menu_item(
            key="teleconsult_schedule",
            label=_("Consult schedule"),
            url_name="telemedicine:schedule",
            roles={Role.CONSULTANT},
            order=30,
            icon="☎",
        )
