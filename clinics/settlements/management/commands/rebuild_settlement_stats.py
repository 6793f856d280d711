import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from clinics.settlements.stats import rebuild
from core.months import month_option


class Command(BaseCommand):
    help = "Recompute the monthly settlement totals (the dashboard's rollup) from the settlement log."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM (default: every month)")

    def handle(self, *args, month=None, **options):
        started = time.monotonic()
        lines = rebuild(month_option(month) if month else None)
        self.stdout.write(
            _("Monthly settlement totals rebuilt (%(scope)s): %(lines)s lines in %(seconds).1f s.")
            % {"scope": month or _("all months"), "lines": lines, "seconds": time.monotonic() - started}
        )
