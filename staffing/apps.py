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

        from clinics.models import Role
        from notifications.access import register_inbox_role
        from notifications.models import Channel
        from notifications.registry import register_address_resolver
        from staffing import jobs  # noqa: F401  (registers the doctor register's export job)

        register_inbox_role(Role.VILLAGE_DOCTOR)
        register_address_resolver(Channel.SMS, doctor_mobile)
        register_address_resolver(Channel.WECOM, doctor_wecom_userid)


def _doctor_of(user):
    return getattr(user, "doctor", None)  # the reverse one-to-one caches its answer on the user, even "none"


def doctor_mobile(user) -> str:
    """SMS reaches a doctor at the mobile on the register."""
    doctor = _doctor_of(user)
    return doctor.mobile if doctor is not None else ""


def doctor_wecom_userid(user) -> str:
    """WeChat Work messages reach a doctor at the user id on the register."""
    doctor = _doctor_of(user)
    return doctor.wecom_userid if doctor is not None else ""
