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
from knox.models import AuthToken
from rest_framework.test import APIClient

from clinics.models import Role
from tests.api_client_helpers import api_token_for
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
    token = api_token_for(staff_login)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/townships/").status_code == 200
    AuthToken.objects.filter(user=staff_login).delete()
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
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(terminal)}")
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


# --- Behind a reverse proxy: the client's address, not the proxy's -------------------------------

PROXY = "172.18.0.2"  # the reverse proxy: every request arrives from here


def attempt_via_proxy(url, username, password, client, *, forwarded=None):
    """A log-in through a proxy that appends the client's address to X-Forwarded-For (nginx's
    $proxy_add_x_forwarded_for); `forwarded` is what the client itself sent in that header."""
    header = f"{forwarded}, {client}" if forwarded else client
    return Client(REMOTE_ADDR=PROXY).post(
        url, {"username": username, "password": password}, HTTP_X_FORWARDED_FOR=header, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )


@pytest.mark.parametrize(("url", "login_fixture"), [("/m/login/", "doctor_login"), ("/admin/login/", "staff_login")])
def test_behind_one_trusted_proxy_a_lockout_is_per_real_client(url, login_fixture, request, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    user = request.getfixturevalue(login_fixture)
    for _ in range(5):
        attempt_via_proxy(url, user.username, "wrong-password", "203.0.113.5")
    assert attempt_via_proxy(url, user.username, PASSWORD, "203.0.113.5").status_code == 429

    # the same user from another client behind the same proxy logs in
    assert attempt_via_proxy(url, user.username, PASSWORD, "198.51.100.9").status_code == 302
    # the locked client cannot escape by writing another address into the header itself: the
    # proxy appends the real one, and only that one is believed
    assert attempt_via_proxy(url, user.username, PASSWORD, "203.0.113.5", forwarded="198.51.100.77").status_code == 429

    from axes.models import AccessAttempt

    assert set(AccessAttempt.objects.values_list("username", "ip_address")) == {(user.username, "203.0.113.5")}


def test_with_no_trusted_proxy_the_forwarded_header_is_ignored(doctor_login, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    url = "/m/login/"

    def attempt_from(remote, forwarded, password):
        return Client(REMOTE_ADDR=remote).post(
            url, {"username": doctor_login.username, "password": password}, HTTP_X_FORWARDED_FOR=forwarded
        )

    for n in range(5):  # a new made-up "client" every time does not spread the failures out
        attempt_from("10.0.0.7", f"198.51.100.{n}", "wrong-password")
    assert attempt_from("10.0.0.7", "198.51.100.200", PASSWORD).status_code == 429
    assert attempt_from("10.0.0.8", "", PASSWORD).status_code == 302


def test_a_forwarded_header_shorter_than_the_trusted_chain_falls_back_to_the_connection(settings, rf):
    from core.lockout import client_ip

    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")) == "10.0.0.1"
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5, 10.0.0.9")) == "203.0.113.5"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-address")) == "10.0.0.1"
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=" 2001:db8::1 ")) == "2001:db8::1"


# --- The county admin unlocks a locked account ----------------------------------------------------

LOCKOUTS = "/admin/clinics/userscope/lockouts/"


def lock(user, ip="10.0.0.7"):
    for _ in range(5):
        attempt("/m/login/", user.username, "wrong-password", ip)
    assert attempt("/m/login/", user.username, PASSWORD, ip).status_code == 429


def test_the_county_admin_sees_and_unlocks_a_locked_account_and_it_is_audited(doctor_login, staff_login):
    from axes.models import AccessAttempt

    from core.models import AuditEntry

    lock(doctor_login)
    admin = Client()
    admin.force_login(staff_login)

    changelist = admin.get("/admin/clinics/userscope/")
    assert LOCKOUTS in changelist.content.decode()  # the page is linked where roles are managed

    page = admin.get(LOCKOUTS)
    assert page.status_code == 200
    rows = page.context["locked"]
    # five wrong passwords, then the right one refused while locked: axes counts six
    assert [(row.username, row.ip_address, row.failures) for row in rows] == [(doctor_login.username, "10.0.0.7", 6)]
    assert rows[0].unlocks_at - rows[0].locked_since == datetime.timedelta(minutes=30)
    text = page.content.decode()
    assert doctor_login.username in text and "10.0.0.7" in text

    done = admin.post(LOCKOUTS, {"username": doctor_login.username, "ip_address": "10.0.0.7"})
    assert done.status_code == 302 and done["Location"] == LOCKOUTS
    assert not AccessAttempt.objects.filter(username=doctor_login.username).exists()
    entry = AuditEntry.objects.get(action="login.unlock")
    assert entry.actor == staff_login and entry.object_id == str(doctor_login.pk)
    assert entry.changes["username"] == doctor_login.username and entry.changes["ip_address"] == "10.0.0.7"
    assert entry.changes["failures"] == 6
    assert admin.get(LOCKOUTS).context["locked"] == []

    # and the doctor logs in again from that address at once
    assert attempt("/m/login/", doctor_login.username, PASSWORD, "10.0.0.7").status_code == 302


def test_unlocking_what_is_no_longer_locked_says_so(staff_login):
    admin = Client()
    admin.force_login(staff_login)
    response = admin.post(LOCKOUTS, {"username": "nobody", "ip_address": "10.0.0.7"}, follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


@pytest.mark.parametrize("role", [Role.TOWNSHIP_ADMIN, Role.PAYROLL_OFFICER])
def test_other_staff_can_neither_see_nor_unlock_locked_accounts(doctor_login, role):
    from axes.models import AccessAttempt

    from core.models import AuditEntry
    from tests.factories import TownshipFactory

    lock(doctor_login)
    other = make_user(role, township=TownshipFactory() if role == Role.TOWNSHIP_ADMIN else None)
    assert other.is_staff
    browser = Client()
    browser.force_login(other)
    assert browser.get(LOCKOUTS).status_code == 403
    assert browser.post(LOCKOUTS, {"username": doctor_login.username, "ip_address": "10.0.0.7"}).status_code == 403
    assert AccessAttempt.objects.filter(username=doctor_login.username).exists()
    assert not AuditEntry.objects.filter(action="login.unlock").exists()


def test_the_unlock_service_refuses_anyone_but_the_county_admin(doctor_login, roles):
    from django.core.exceptions import PermissionDenied

    from clinics.lockouts import login_unlock
    from tests.factories import TownshipFactory

    lock(doctor_login)
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=TownshipFactory())
    with pytest.raises(PermissionDenied):
        login_unlock(username=doctor_login.username, ip_address="10.0.0.7", acting_user=township_admin)
