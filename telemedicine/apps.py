from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemedicineConfig(AppConfig):
    name = "telemedicine"
    label = "telemedicine"
    verbose_name = _("Teleconsultation")
