"""The demo seed step: the `consultant` login becomes the 内科 consultant; idempotent."""

import pytest

from clinics.roles import seed_roles
from clinics.seeding import seed_register
from staffing.seeding import seed_doctors
from telemedicine.models import Consultant, Slot, WeeklyAvailability
from telemedicine.seeding import seed_consultants

pytestmark = pytest.mark.django_db


def test_seed_consultants(clock, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    counts: dict = {}
    seed_roles(counts)
    seed_register(counts)
    seed_doctors(counts)

    seed_consultants(counts)

    linked = Consultant.objects.select_related("department__facility").get(user__username="consultant")
    assert linked.department.name == "内科" and linked.department.facility.kind == "county_hospital"
    assert Consultant.objects.filter(is_demo=True).count() == counts["consultant"]["created"] >= 5
    assert str(linked).endswith("（演示） · 内科")
    assert WeeklyAvailability.objects.filter(consultant=linked).count() == 7
    assert Slot.objects.filter(consultant=linked).exists()
    again: dict = {}
    seed_consultants(again)
    assert again["consultant"]["created"] == 0 and again["teleconsult slot"]["created"] == 0
