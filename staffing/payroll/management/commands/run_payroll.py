
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinics.models import Township
from core.months import month_option
from staffing.payroll import services
from staffing.payroll.models import PayRun


class Command(BaseCommand):
    help = "Create (if needed) and calculate the month's pay run (or each township's, with PAYROLL_RUN_SCOPE=township); print totals and warnings."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--township", help="township statistical code, for a township run")

    def handle(self, *args, month, township=None, **options):
        first = month_option(month)
        if township:
            areas = list(Township.objects.filter(code=township))
            if not areas:
                raise CommandError(f"no township with code {township}")
        elif settings.PAYROLL_RUN_SCOPE == "township":
            areas = list(Township.objects.filter(facilities__kind="village_clinic").distinct().order_by("code"))
        else:
            areas = [None]
        for area in areas:
            self._run(first, area)

    def _run(self, first, area):
        run = PayRun.objects.filter(month=first, township=area).first()
        try:
            if run is None:
                run = services.payrun_create(month=first, township=area, acting_user=None)
            run = services.payrun_calculate(run=run, acting_user=None)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages))
        self.stdout.write(
            f"{run}: {run.doctor_count} doctors, gross {run.gross_total}, deductions {run.deduction_total}, net {run.net_total}"
        )
        warnings = services.payrun_warnings(run=run)
        for warning in warnings[:50]:
            who = f"{warning['doctor']}: " if warning["doctor"] else ""
            self.stdout.write(f"  ! {who}{warning['message']}")
        if len(warnings) > 50:
            self.stdout.write(f"  … {len(warnings) - 50} more warnings")
