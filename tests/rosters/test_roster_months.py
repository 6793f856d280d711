"""The months the roster lists offer (`selectors.roster_months`): for the county one index probe a
month (a skip scan) instead of a DISTINCT over every roster month; the same months either way,
newest first, in the user's reach; and the roster-month list counts by estimate once it is big."""

import datetime

import pytest

from clinics.models import Role
from staffing.rosters import selectors
from staffing.rosters.models import RosterMonth
from tests.factories import FacilityFactory, make_user

pytestmark = pytest.mark.django_db

D = datetime.date


def months_by_distinct(user):
    from clinics.scoping import scope_queryset

    return list(scope_queryset(RosterMonth.objects.all(), user).order_by("-month").values_list("month", flat=True).distinct())


def test_the_county_gets_every_month_newest_first_as_a_distinct_would(county_admin):
    here, there = FacilityFactory(), FacilityFactory()
    for clinic, months in ((here, [D(2026, 1, 1), D(2026, 3, 1), D(2025, 12, 1)]), (there, [D(2026, 3, 1), D(2026, 7, 1)])):
        for month in months:
            RosterMonth.objects.create(facility=clinic, month=month)
    expected = [D(2026, 7, 1), D(2026, 3, 1), D(2026, 1, 1), D(2025, 12, 1)]
    assert selectors.roster_months(user=county_admin) == expected == months_by_distinct(county_admin)
    assert selectors.roster_months(user=county_admin, limit=2) == expected[:2]


def test_a_township_admin_gets_only_the_months_of_his_clinics(roles):
    mine, other = FacilityFactory(), FacilityFactory()
    RosterMonth.objects.create(facility=mine, month=D(2026, 2, 1))
    RosterMonth.objects.create(facility=other, month=D(2026, 5, 1))
    admin = make_user(Role.TOWNSHIP_ADMIN, township=mine.township)
    assert selectors.roster_months(user=admin) == [D(2026, 2, 1)] == months_by_distinct(admin)


def test_no_rosters_no_months(county_admin):
    assert selectors.roster_months(user=county_admin) == []


def test_the_roster_month_list_shows_its_months_and_counts_once(client, county_admin, django_assert_max_num_queries):
    clinic = FacilityFactory()
    RosterMonth.objects.create(facility=clinic, month=D(2026, 10, 1))
    RosterMonth.objects.create(facility=FacilityFactory(), month=D(2026, 11, 1))
    client.force_login(county_admin)
    response = client.get("/admin/rosters/rostermonth/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "2026年11月" in html and "2026年10月" in html
    assert response.context["cl"].paginator.count == 2
    # One count of the list (the paginator's), not a second one for the full result count.
    assert not response.context["cl"].show_full_result_count
