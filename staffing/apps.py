from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffingConfig(AppConfig):
    name = "staffing"
    label = "staffing"
    verbose_name = _("Staffing")

    def ready(self):
        from notifications.reminders import register_scanner
        from staffing.reminders import licence_expiry_scanner

        register_scanner("staffing.licence_expiry", licence_expiry_scanner)

        from clinics.scoping import register_scoper
        from staffing.models import Doctor
        from staffing.reach import scope_doctors

        register_scoper(Doctor, lambda queryset, user: scope_doctors(queryset, user))

        from core.hashing import register_rehasher
        from staffing.services.doctors import doctor_rehash_id_numbers

        register_rehasher("staffing.doctor.id_number_hash", doctor_rehash_id_numbers)
