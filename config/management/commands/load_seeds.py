from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from config.seeding import run_all


class Command(BaseCommand):
    help = "Load Leye County's register and the demo data. Idempotent: a second run changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args, quiet_logins=False, **options):
        counts: dict = {}
        logins = run_all(counts)
        for model, figures in counts.items():
            if isinstance(figures, dict):
                self.stdout.write(f"{model}: {figures.get('created', 0)} created, {figures.get('existing', 0)} already present")
            else:
                self.stdout.write(f"{model}: {figures}")
        if not quiet_logins:
            from django.conf import settings

            self.stdout.write(self.style.SUCCESS(_("Demo logins (password: %(pw)s):") % {"pw": settings.CUNYI_DEMO_PASSWORD}))
            for username, role, where in logins:
                self.stdout.write(f"  {username:<16} {role} · {where}")
