from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SettlementsConfig(AppConfig):
    name = "clinics.settlements"
    label = "settlements"
    verbose_name = _("Insurance settlements")

    def ready(self):
        from django.core import checks

        from clinics.settlements.checks import time_zone_check

        checks.register(time_zone_check)

        from clinics.scoping import is_county_wide, register_scoper, scope_queryset
        from clinics.settlements.models import BureauStatement, Reconciliation, SettlementImport

        for model in (SettlementImport, Reconciliation):
            register_scoper(model, lambda queryset, user: scope_queryset(queryset, user, facility_path="facility"))
        register_scoper(BureauStatement, lambda queryset, user: queryset if is_county_wide(user) else queryset.none())

        from clinics.settlements import jobs  # noqa: F401  (registers the import and reconciliation jobs)
