"""`manage.py load_seeds` runs these steps in order. Each app adds its own step here; every step
is idempotent and adds to `counts` what it created and what already existed. The demo is built as
of one day (`today`, the command's `--today` or today in Asia/Shanghai): a step reads it with
`clinics.seeding.seed_today(counts)` and leaves a line for the command to print with `seed_note`."""

import datetime
from importlib import import_module

from django.utils import timezone

from clinics.seeding import NOTES_KEY, TODAY_KEY

SEED_STEPS = [
    "clinics.roles.seed_roles",
    "clinics.seeding.seed_register",
    "staffing.seeding.seed_doctors",
    "staffing.seeding.seed_demo_login_step",
    "clinics.settlements.platform_codes.seed_platform_codes",
    "clinics.settlements.seeding.seed_demo_settlements",
    "notifications.seeding.seed_templates",
    "staffing.rosters.seeding.seed_holidays",
    "staffing.rosters.seeding.seed_leave_entitlements",
    "staffing.rosters.seeding.seed_demo_rosters",
    "staffing.rosters.seeding.seed_demo_leave",
    "staffing.payroll.seeding.seed_payroll",
    "staffing.payroll.seeding.seed_demo_pay_run",
    "telemedicine.seeding.seed_consultants",
    "telemedicine.seeding.seed_demo_consults",
]


LOGINS_KEY = "_demo_logins"


def run_all(counts: dict, *, today: datetime.date | None = None) -> tuple[list, list]:
    """Run every step for `today` (default: today, local time); returns the demo logins
    (username, role, reach) and the steps' notes, for printing."""
    counts[TODAY_KEY] = today or timezone.localdate()
    for dotted in SEED_STEPS:
        module, _, name = dotted.rpartition(".")
        getattr(import_module(module), name)(counts)
    counts.pop(TODAY_KEY)
    return counts.pop(LOGINS_KEY, []), counts.pop(NOTES_KEY, [])
