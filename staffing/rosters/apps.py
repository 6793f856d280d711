from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RostersConfig(AppConfig):
    name = "staffing.rosters"
    label = "rosters"
    verbose_name = _("Duty rosters")

    def ready(self):
        from clinics.models import Role
        from core.portal import register_menu_item

        register_menu_item(
            key="duty", label=_("My duty"), url_name="rosters:my-duty", roles=[Role.VILLAGE_DOCTOR], order=10, icon="calendar",
            offline=True,
        )
        from clinics.scoping import register_scoper, scope_queryset
        from staffing.rosters.models import DutyDay, RosterMonth

        for model in (RosterMonth, DutyDay):
            register_scoper(model, lambda queryset, user: scope_queryset(queryset, user, facility_path="facility"))

        from staffing.rosters.services import publishing

        publishing.register()  # a posting does not end before its published duties
        from staffing.rosters import jobs  # noqa: F401  (registers the county-wide planning jobs)

        register_menu_item(
            key="leave", label=_("Request leave"), url_name="rosters:leave-new", roles=[Role.VILLAGE_DOCTOR], order=11, icon="leave",
            offline=True,
        )
