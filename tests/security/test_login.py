"""Log-in and sessions: django-axes locks a username on an address out after 5 failed log-ins
(with a Chinese page), weak passwords are refused, sessions expire, and API tokens can be revoked;
an insurance terminal's token can upload settlements and nothing else."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clinics.models import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password-1"  # tests.factories.UserFactory


@pytest.fixture
def doctor_login(roles):
    from tests.factories import PostingFactory

    posting = PostingFactory()
    return make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="wei_lan")


@pytest.fixture
def staff_login(roles):
    return make_user(Role.COUNTY_ADMIN, username="huang_admin")


def attempt(url, username, password, ip):
    return Client(REMOTE_ADDR=ip).post(url, {"username": username, "password": password}, HTTP_ACCEPT_LANGUAGE="zh-hans")


@pytest.mark.parametrize(("url", "login_fixture"), [("/m/login/", "doctor_login"), ("/admin/login/", "staff_login")])
def test_five_wrong_passwords_lock_the_username_on_that_address(url, login_fixture, request):
    user = request.getfixturevalue(login_fixture)
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        response = attempt(url, user.username, "wrong-password", "10.0.0.7")
        assert response.status_code == 200  # the form again, with its error
    locked = attempt(url, user.username, "wrong-password", "10.0.0.7")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "账号已锁定" in text and "5 次输错密码" in text and "30 分钟" in text

    # even the right password is refused now, from that address
    assert attempt(url, user.username, PASSWORD, "10.0.0.7").status_code == 429
    # the same username from another address, and another username from this one, are not locked
    assert attempt(url, user.username, PASSWORD, "10.0.0.8").status_code == 302
    assert attempt(url, "someone_else", "wrong-password", "10.0.0.7").status_code == 200


@pytest.mark.parametrize("weak", ["12345678901", "password123", "wei_lan2026", "leyeleyeleye"[:8]])
def test_weak_passwords_are_refused(doctor_login, weak):
    with pytest.raises(ValidationError):
        validate_password(weak, user=doctor_login)


def test_a_strong_password_is_accepted(doctor_login):
    validate_password("Qiu-feng 2026 yun shan", user=doctor_login)


def test_sessions_expire(doctor_login):
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    browser = Client()
    browser.force_login(doctor_login)
    assert browser.get("/m/inbox/").status_code == 200
    later = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    with time_machine.travel(later, tick=False):
        expired = browser.get("/m/inbox/")
    assert expired.status_code == 302 and expired["Location"].startswith("/m/login/")


def test_a_revoked_api_token_is_refused(staff_login):
    token = Token.objects.create(user=staff_login)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/townships/").status_code == 200
    token.delete()
    refused = api.get("/api/v1/townships/")
    assert refused.status_code == 401
    assert refused.json()["detail"]  # DRF's message, in Chinese under zh-hans


def test_an_insurance_terminal_token_only_uploads_its_own_clinics_settlements(roles):
    from clinics.settlements.models import SettlementRecord
    from tests.factories import FacilityFactory
    from tests.settlements.helpers import row

    clinic, other = FacilityFactory(), FacilityFactory()
    terminal = make_user(Role.API_CLIENT, facility=clinic, username="pos_01")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=terminal).key}")
    report = api.post("/api/v1/settlements/", [row(clinic, 1), row(other, 2)], format="json")
    assert report.status_code == 201
    assert report.json()["accepted"] == 1 and report.json()["rejected"] == 1
    assert list(SettlementRecord.objects.values_list("facility_id", flat=True)) == [clinic.pk]

    for method, url, body in [
        ("get", "/api/v1/settlements/", None),
        ("get", "/api/v1/settlements/summary/?month=2026-10", None),
        ("get", "/api/v1/doctors/", None),
        ("get", "/api/v1/townships/", None),
        ("post", "/api/v1/rosters/leave/", {}),
        ("post", "/api/v1/teleconsult/bookings/", {}),
        ("post", "/api/v1/rosters/generate/", {"month": "2026-12"}),
    ]:
        response = getattr(api, method)(url, body, format="json") if body is not None else api.get(url)
        assert response.status_code == 403, (url, response.status_code)


def test_an_insurance_terminal_account_gets_no_pages(roles):
    from django.test import Client

    from tests.factories import FacilityFactory

    terminal = make_user(Role.API_CLIENT, facility=FacilityFactory(), username="pos_02")
    browser = Client()
    browser.force_login(terminal)
    for url in ("/m/", "/m/inbox/", "/m/consult/", "/admin/"):
        response = browser.get(url)
        assert response.status_code == 403, url
        assert "只能通过接口上传结算记录" in response.content.decode()
