import time

from django.core.management.base import BaseCommand, CommandError

from staffing.seeding import seed_synthetic


class Command(BaseCommand):
    help = "Add province-scale synthetic clinics (two doctors each) with bulk inserts."

    def add_arguments(self, parser):
        parser.add_argument("--clinics", type=int, required=True)

    def handle(self, *args, clinics, **options):
        if clinics <= 0:
            raise CommandError("--clinics must be a positive number")
        started = time.perf_counter()
        result = seed_synthetic(clinics=clinics)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"{result['clinics']} clinics, {result['doctors']} doctors, {result['postings']} postings "
            f"in {result['townships']} townships: {elapsed:.1f} s"
        )
