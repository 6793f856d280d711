import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from config.seeding import run_all

# What each step counts, as the command prints it (a key without a label prints as it is).
LABELS = {
    "group": pgettext_lazy("demo seed", "roles (user groups) in the register"),
    "township": pgettext_lazy("demo seed", "townships in the register"),
    "facility": pgettext_lazy("demo seed", "facilities in the register"),
    "department": pgettext_lazy("demo seed", "departments in the register"),
    "doctor": pgettext_lazy("demo seed", "demo village doctors"),
    "demo login": pgettext_lazy("demo seed", "demo logins made"),
    "platformcode": pgettext_lazy("demo seed", "insurance platform dictionary codes"),
    "settlementrecord": pgettext_lazy("demo seed", "demo settlements"),
    "notification templates created": pgettext_lazy("demo seed", "notification templates added"),
    "notification templates existing": pgettext_lazy("demo seed", "notification templates kept"),
    "holiday calendar year": pgettext_lazy("demo seed", "holiday calendar years loaded"),
    "leave entitlement": pgettext_lazy("demo seed", "county leave entitlements (defaults)"),
    "roster month": pgettext_lazy("demo seed", "demo roster months"),
    "bank file format": pgettext_lazy("demo seed", "bank file formats shipped"),
    "paying bank": pgettext_lazy("demo seed", "demo paying banks"),
    "insurance scheme": pgettext_lazy("demo seed", "demo social insurance schemes"),
    "bonus tax rule": pgettext_lazy("demo seed", "bonus tax rules shipped"),
    "pay policy": pgettext_lazy("demo seed", "demo pay policies"),
    "contract fee on demo policy": pgettext_lazy("demo seed", "contract fees on the demo pay policies"),
    "contract register entry": pgettext_lazy("demo seed", "demo contract register entries"),
    "pay run": pgettext_lazy("demo seed", "demo pay runs"),
    "leave request": pgettext_lazy("demo seed", "demo leave requests"),
    "consultant": pgettext_lazy("demo seed", "demo consultants"),
    "weekly availability": pgettext_lazy("demo seed", "demo consultants' weekly hours"),
    "teleconsult slot": pgettext_lazy("demo seed", "teleconsult slots opened"),
    "consult booking": pgettext_lazy("demo seed", "demo teleconsult bookings"),
}


def parse_day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("--today takes a date as YYYY-MM-DD, e.g. 2026-12-02; “%(text)s” is not one.") % {"text": text})


class Command(BaseCommand):
    help = ("Load Leye County's register and the demo data as of today (or --today): rosters, settlements, last month's "
            "pay run, leave and consults. Idempotent: a second run the same day changes nothing; a later run tops up the days since.")

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")
        parser.add_argument("--today", metavar="YYYY-MM-DD", help="Build the demo as of this day instead of today (Asia/Shanghai).")

    def handle(self, *args, quiet_logins=False, today=None, **options):
        day = parse_day(today) if today else timezone.localdate()
        counts: dict = {}
        logins, notes = run_all(counts, today=day)
        self.stdout.write(_("Demo built as of %(day)s (settlements up to the day before).") % {"day": day.isoformat()})
        for key, figures in counts.items():
            label = LABELS.get(key, key)
            if isinstance(figures, dict):
                self.stdout.write(_("%(what)s: %(created)d created, %(existing)d already present")
                                  % {"what": label, "created": figures.get("created", 0), "existing": figures.get("existing", 0)})
            else:
                self.stdout.write(f"{label}: {figures}")
        for note in notes:
            self.stdout.write(self.style.WARNING(note))
        if not quiet_logins:
            self.stdout.write(self.style.SUCCESS(_("Demo logins (password: %(pw)s):") % {"pw": settings.CUNYI_DEMO_PASSWORD}))
            for username, role, where in logins:
                self.stdout.write(f"  {username:<16} {role} · {where}")
