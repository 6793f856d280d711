import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def created_count(line: str) -> int:
    """The number created on a summary line: "doctor: 3 created, …" or "templates created: 3"."""
    label, _, rest = line.partition(":")
    if label.endswith(" created"):
        return int(rest.strip() or 0)
    if " created" in rest:
        return int(rest.strip().split(" ", 1)[0])
    return 0


def test_load_seeds_twice_creates_everything_once_and_prints_demo_logins():
    first = io.StringIO()
    call_command("load_seeds", stdout=first)
    second = io.StringIO()
    call_command("load_seeds", "--quiet-logins", stdout=second)

    assert "doctor: 176 created" in first.getvalue()
    assert "village_doctor" in first.getvalue() and "county_admin" in first.getvalue()
    created_again = [line for line in second.getvalue().splitlines() if created_count(line)]
    assert created_again == [], created_again
