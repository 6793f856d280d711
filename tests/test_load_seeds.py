import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_load_seeds_twice_creates_everything_once_and_prints_demo_logins():
    first = io.StringIO()
    call_command("load_seeds", stdout=first)
    second = io.StringIO()
    call_command("load_seeds", "--quiet-logins", stdout=second)

    assert "doctor: 176 created" in first.getvalue()
    assert "village_doctor" in first.getvalue() and "county_admin" in first.getvalue()
    created_again = [
        line for line in second.getvalue().splitlines()
        if " created" in line and not line.split(":", 1)[1].strip().startswith("0 created")
    ]
    assert created_again == [], created_again
