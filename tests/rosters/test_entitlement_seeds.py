"""The county's default leave entitlements come back with `load_seeds` after a flush (which
empties what migration 0008 put in), and never over the bureau's own rows."""

import importlib

import pytest

from staffing.rosters import seeding
from staffing.rosters.models import LeaveEntitlement

pytestmark = pytest.mark.django_db


def test_defaults_are_the_migrations():
    migration = importlib.import_module("staffing.rosters.migrations.0008_leave_and_swaps")
    assert seeding.DEFAULT_ENTITLEMENT_DAYS == migration.DEFAULT_DAYS
    assert seeding.DEFAULT_ENTITLEMENT_YEARS == migration.DEFAULT_YEARS
    assert seeding.DEFAULT_ENTITLEMENT_NOTE == migration.NOTE


def test_an_emptied_register_gets_the_defaults_back_once():
    LeaveEntitlement.objects.all().delete()  # what `flush` leaves
    counts = {}
    seeding.seed_leave_entitlements(counts)
    assert counts["leave entitlement"] == {"created": 12, "existing": 0}
    assert dict(LeaveEntitlement.objects.filter(year=2026, doctor=None).values_list("kind", "days")) == {
        "annual": 7, "sick": 30, "training": 15, "personal": 10}
    again = {}
    seeding.seed_leave_entitlements(again)
    assert again["leave entitlement"] == {"created": 0, "existing": 12}
    assert LeaveEntitlement.objects.count() == 12


def test_the_bureaus_own_rows_are_left_alone():
    LeaveEntitlement.objects.all().delete()
    LeaveEntitlement.objects.create(year=2026, kind="annual", doctor=None, days=10, note="县卫健局2026年文件")
    counts = {}
    seeding.seed_leave_entitlements(counts)
    assert counts["leave entitlement"]["created"] == 0
    assert list(LeaveEntitlement.objects.values_list("year", "kind", "days")) == [(2026, "annual", 10)]
