"""`manage.py load_seeds` runs these steps in order. Each app adds its own step here; every step
is idempotent and adds to `counts` what it created and what already existed."""

from importlib import import_module

SEED_STEPS = [
    "clinics.roles.seed_roles",
    "clinics.seeding.seed_register",
    "staffing.seeding.seed_doctors",
    "staffing.seeding.seed_demo_login_step",
    "clinics.settlements.platform_codes.seed_platform_codes",
    "clinics.settlements.seeding.seed_demo_settlements",
    "notifications.seeding.seed_templates",
    "staffing.rosters.seeding.seed_holidays",
    "staffing.rosters.seeding.seed_demo_rosters",
    "staffing.payroll.seeding.seed_payroll",
    "telemedicine.seeding.seed_consultants",
]


LOGINS_KEY = "_demo_logins"


def run_all(counts: dict) -> list:
    """Run every step; returns the demo logins (username, role, reach) for printing."""
    for dotted in SEED_STEPS:
        module, _, name = dotted.rpartition(".")
        getattr(import_module(module), name)(counts)
    return counts.pop(LOGINS_KEY, [])
