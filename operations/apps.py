from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Running Cunyi for years: health checks, backups, retention, and the pages of long work."""

    name = "operations"
    label = "operations"
    verbose_name = _("Operations")

    def ready(self):
        from core.jobs import on_job_finished
        from operations.notices import notify_job_finished

        on_job_finished(notify_job_finished)
