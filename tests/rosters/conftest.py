import datetime
import importlib

import pytest
from django.apps import apps

from clinics.models import Role
from staffing.rosters.models import DutyDay
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.holidays import holiday_year_load
from staffing.rosters.services.publishing import roster_publish
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

OCT = datetime.date(2026, 10, 1)


@pytest.fixture
def calendar_2026(db):
    holiday_year_load(year=2026)


@pytest.fixture
def calendar_2025_2026(db):
    holiday_year_load(year=2025)
    holiday_year_load(year=2026)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Test users are made with set_password; the production hasher costs ~0.3 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def leave_entitlements(db):
    """The county's default entitlements as migration 0008 seeds them: a transactional test earlier in
    the run flushes the table, so tests that count balances put them back the migration's own way."""
    importlib.import_module("staffing.rosters.migrations.0008_leave_and_swaps").entitlement_defaults(apps, None)


@pytest.fixture
def township(calendar_2026, roles, leave_entitlements):
    """Two clinics of two doctors each in one township, October 2026 planned and published."""
    township = TownshipFactory()
    clinic, (a, b) = clinic_with_doctors(2, township=township)
    other, (c, d) = clinic_with_doctors(2, township=township)
    admin = make_user(Role.TOWNSHIP_ADMIN, township=township)
    for doctor in (a, b, c, d):
        make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    roster_generate(month=OCT)
    roster_publish(month=OCT, township=township, acting_user=admin)
    return {"township": township, "clinic": clinic, "other": other, "a": a, "b": b, "c": c, "d": d, "admin": admin}


def on_call(clinic, day):
    return DutyDay.objects.get(facility=clinic, date=day, duty="on_call").doctor
