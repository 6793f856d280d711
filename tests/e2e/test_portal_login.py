import pytest

from clinics.models import Role
from tests.e2e.conftest import follow, login, shot
from tests.factories import PostingFactory, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_village_doctor_logs_in_on_a_phone_and_sees_chinese_home(live_server, phone):
    posting = PostingFactory(doctor__name="韦秀英")
    make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="weixiuying")

    login(phone, live_server.url, "weixiuying")

    body = phone.inner_text("body")
    assert "退出" in body  # the Chinese "Log out" button: the page is in zh-hans
    assert posting.facility.name in body
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the phone page must not scroll sideways"
    shot(phone, "portal-home-village-doctor")


def test_wrong_password_shows_a_chinese_message(live_server, phone):
    PostingFactory()
    make_user(Role.COUNTY_ADMIN, username="admin1")
    phone.goto(f"{live_server.url}/m/login/")
    phone.fill("#id_username", "admin1")
    phone.fill("#id_password", "wrong-password")
    follow(phone, "button[type=submit]")
    assert "用户名或密码错误" in phone.inner_text("body")
    shot(phone, "portal-login-error")
