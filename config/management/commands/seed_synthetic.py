import time

from django.core.management.base import BaseCommand, CommandError

from staffing.payroll.bankfiles.seeding import SYNTHETIC_BANK, seed_synthetic_paying_bank
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
        # The synthetic doctors are paid through a bank of their own (the generic e-bank sheet),
        # so a province pay run can be approved and its bank files written.
        seed_synthetic_paying_bank()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"{result['clinics']} clinics, {result['doctors']} doctors, {result['postings']} postings "
            f"in {result['townships']} townships: {elapsed:.1f} s (paid through {SYNTHETIC_BANK})"
        )
