import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinics.models import Facility, Township
from core.months import month_option
from staffing.rosters.services.generation import roster_generate


class Command(BaseCommand):
    help = "Plan a month's duty roster for every village clinic (or one township, or one clinic). Drafts are replaced; published months are kept."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--township", help="township statistical code")
        parser.add_argument("--clinic", help="clinic division code")

    def handle(self, *args, month, township=None, clinic=None, **options):
        first = month_option(month)
        township_obj = facility = None
        if township:
            township_obj = Township.objects.filter(code=township).first()
            if township_obj is None:
                raise CommandError(f"no township has the code {township}")
        if clinic:
            facility = Facility.objects.filter(code=clinic, kind=Facility.Kind.VILLAGE_CLINIC).first()
            if facility is None:
                raise CommandError(f"no village clinic has the code {clinic}")
        started = time.perf_counter()
        try:
            result = roster_generate(month=first, township=township_obj, facility=facility)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"{first:%Y-%m}: {result.clinics} clinics, {result.created} new and {result.replaced} replaced drafts, "
            f"{result.skipped_published} published kept, {result.duties} duties, {result.gaps} gaps in {elapsed:.2f} s"
        )
