from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The layer under every app, knowing no domain: errors, API plumbing, tables, validators,
    database helpers, the keyed hash, months, retry, and the audit trail."""

    name = "core"
    label = "core"
    verbose_name = _("Audit trail")
