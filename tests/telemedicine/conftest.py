import datetime
import zoneinfo

import pytest
import time_machine

from tests.telemedicine.factories import consultant_with_login, make_slot, village_doctor

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# Tuesday 1 December 2026, 08:00 in Leye.
NOW = datetime.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
TOMORROW = datetime.date(2026, 12, 2)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def consultant(db, roles):
    return consultant_with_login(username="dr_huang")


@pytest.fixture
def doctor_user(db, roles):
    return village_doctor(username="vd_wei")


@pytest.fixture
def slot(consultant, clock):
    return make_slot(consultant, TOMORROW, 9, 0)


@pytest.fixture(autouse=True)
def holiday_calendar_2026(request):
    """The tests run in December 2026: its holiday calendar is loaded (slots are offered only in
    years whose calendar is). Tests without the database get nothing."""
    if "db" not in request.fixturenames and "transactional_db" not in request.fixturenames:
        marker = request.node.get_closest_marker("django_db")
        if marker is None:
            return
    from staffing.rosters.models import CalendarYear

    request.getfixturevalue("db")
    CalendarYear.objects.get_or_create(year=2026)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Test users get passwords; a fast hasher keeps these tests well under a minute."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def keep_query_log():
    """Django clears the query log at the start of each request (request_started → reset_queries),
    which makes a query-count context around a test-client request count nothing; keep the log
    (and call reset_queries() just before counting, so the bounded log has room)."""
    from django.core.signals import request_started
    from django.db import reset_queries

    request_started.disconnect(reset_queries)
    yield
    request_started.connect(reset_queries)
