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

        from django.db.models.signals import post_migrate

        from clinics.settlements import jobs  # noqa: F401  (registers the import and reconciliation jobs)

        # The shipped platform dictionaries after every migrate and every test-database flush (a
        # flushed table would otherwise refuse every upload): missing codes only, edits kept.
        post_migrate.connect(_ensure_platform_codes, sender=self, dispatch_uid="settlements.platform_codes")


def _ensure_platform_codes(sender, using="default", apps=None, **kwargs):
    from clinics.settlements.platform_codes import ensure_shipped

    registry = apps if apps is not None else sender.apps
    try:
        model = registry.get_model("settlements", "PlatformCode")
    except LookupError:  # migrated back to before 0014
        return
    ensure_shipped(model, using=using)
