from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemedicineConfig(AppConfig):
    name = "telemedicine"
    label = "telemedicine"
    verbose_name = _("Teleconsultation")

    def ready(self):
        from clinics.models import Role
        from clinics.scoping import register_scoper, scope_queryset
        from core.portal import register_menu_item
        from telemedicine.models import Consultant, ConsultBooking, Slot, WeeklyAvailability

        paths = {
            Consultant: "department__facility",
            Slot: "department__facility",
            WeeklyAvailability: "consultant__department__facility",
            ConsultBooking: "facility",  # the village clinic that asked
        }
        for model, facility_path in paths.items():
            register_scoper(model, lambda queryset, user, path=facility_path: scope_queryset(queryset, user, facility_path=path))

        pages = [
            ("teleconsult", _("Teleconsults"), "telemedicine:my_bookings", Role.VILLAGE_DOCTOR, 30, "consult"),
            ("teleconsult_book", _("Book a teleconsult"), "telemedicine:find_slots", Role.VILLAGE_DOCTOR, 31, "book"),
            ("teleconsult_queue", _("Consult queue"), "telemedicine:queue", Role.CONSULTANT, 29, "queue"),
            ("teleconsult_schedule", _("Consult schedule"), "telemedicine:schedule", Role.CONSULTANT, 30, "consult"),
        ]
        for key, label, url_name, role, order, icon in pages:
            register_menu_item(key=key, label=label, url_name=url_name, roles={role}, order=order, icon=icon)

        from core.hashing import register_rehasher
        from telemedicine import checks  # noqa: F401  (registers the video settings check)
        from telemedicine.services.patients import patient_keys_rehash

        # The no-overlap rule finds a patient by a keyed hash: recompute it when HASH_KEY is rotated.
        register_rehasher("telemedicine.consultbooking.patient_key", patient_keys_rehash)

        from notifications.access import register_inbox_role
        from notifications.models import Channel
        from notifications.registry import register_address_resolver

        register_inbox_role(Role.CONSULTANT)
        # A consultant has no mobile of their own: the register entry they are linked to has one.
        register_address_resolver(Channel.SMS, lambda user: consultant_register_address(user, "mobile"), priority=200)
        register_address_resolver(
            Channel.WECOM, lambda user: consultant_register_address(user, "wecom_userid"), priority=200
        )


def consultant_register_address(user, field: str) -> str:
    consultant = getattr(user, "consultant", None)
    doctor = consultant.doctor if consultant is not None and consultant.doctor_id else None
    return getattr(doctor, field, "") if doctor is not None else ""
