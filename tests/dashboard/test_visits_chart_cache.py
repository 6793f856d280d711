"""The dashboard's visits chart is computed once per reach until the next settlement import
(issue 18: at province scale it reads the whole rollup): a new batch shows at once, and each reach
keeps its own answer."""

import datetime

import pytest

from clinics.models import Role
from clinics.settlements.services import settlements_import
from dashboard.charts import settlement_chart
from tests.factories import FacilityFactory, make_user
from tests.settlements.helpers import numbered, row

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 10, 12)


@pytest.fixture(autouse=True)
def frozen_today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 10, 12, 18, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))))


def october_visits(user) -> int:
    chart, _ = settlement_chart(user=user, today=TODAY)
    return chart.series[1].values[9]


def test_a_new_import_shows_at_once_and_each_reach_keeps_its_own(county_admin, roles, django_assert_num_queries):
    clinic, far = FacilityFactory(), FacilityFactory()
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=clinic.township)
    settlements_import(source="api", rows=numbered([row(clinic, 1), row(far, 2)]))
    assert october_visits(county_admin) == 2
    assert october_visits(township_admin) == 1
    with django_assert_num_queries(1):  # only the batch id: the rollup's answer is kept
        assert october_visits(county_admin) == 2
    settlements_import(source="api", rows=numbered([row(far, 3)]))
    assert october_visits(county_admin) == 3
    assert october_visits(township_admin) == 1
