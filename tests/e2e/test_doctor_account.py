"""A new doctor's phone login, end to end in Chromium: the county admin creates it on the doctor's
page and reads the one-time password once; on a phone the doctor signs in with it, is led to set
their own password, then reaches /m/. A reset gives a new one-time password and the same step."""

import pytest

from clinics.models import Role
from tests.browser import PHONE, follow, login, shot
from tests.factories import DoctorFactory, PostingFactory, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OWN = "Leye-pingzhai-2026"


@pytest.fixture
def new_doctor():
    from clinics.roles import seed_roles

    seed_roles({})
    make_user(Role.COUNTY_ADMIN, username="bureau")
    return PostingFactory(doctor=DoctorFactory(name="黄秀英", mobile="13807781234")).doctor


def _admin_on_doctor(browser, live_server, doctor):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, live_server.url, "bureau")
    page.goto(f"{live_server.url}/admin/staffing/doctor/{doctor.pk}/change/")
    page.wait_for_selector("#doctor-login")
    return context, page


def _phone_first_login(browser, live_server, username, password, name):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    phone = context.new_page()
    phone.goto(f"{live_server.url}/m/login/")
    phone.fill("#id_username", username)
    phone.fill("#id_password", password)
    follow(phone, "button[type=submit]")
    phone.wait_for_url(f"{live_server.url}/m/password/**")
    assert "设置您自己的密码" in phone.inner_text("main")
    shot(phone, f"{name}_2_phone_set_password")
    phone.fill("#id_new_password1", "1234567890")
    phone.fill("#id_new_password2", "1234567890")
    follow(phone, "main form button[type=submit]")  # not the header's 退出登录
    assert "/m/password/" in phone.url and phone.locator(".errorlist").count() >= 1  # validators apply
    shot(phone, f"{name}_3_phone_weak_refused")
    phone.fill("#id_new_password1", OWN)
    phone.fill("#id_new_password2", OWN)
    follow(phone, "main form button[type=submit]")
    assert phone.url == f"{live_server.url}/m/"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, f"{name}_4_phone_home")
    context.close()


def test_create_login_then_first_phone_login_sets_own_password(live_server, browser, new_doctor):
    context, page = _admin_on_doctor(browser, live_server, new_doctor)
    assert "手机端登录账号" in page.inner_text("#doctor-login")
    follow(page, "#login-create")
    username = page.inner_text("#login-username")
    password = page.inner_text("#login-password")
    assert username == "13807781234" and len(password) >= 10
    assert "只显示这一次" in page.inner_text("#content-main")
    shot(page, "doctor_account_1_admin_one_time_password")
    page.goto(f"{live_server.url}/admin/staffing/doctor/{new_doctor.pk}/change/")
    assert password not in page.content()  # shown once only
    context.close()
    _phone_first_login(browser, live_server, username, password, "doctor_account")


def test_reset_password_gives_a_new_one_time_password(live_server, browser, new_doctor):
    context, page = _admin_on_doctor(browser, live_server, new_doctor)
    follow(page, "#login-create")
    first = page.inner_text("#login-password")
    page.goto(f"{live_server.url}/admin/staffing/doctor/{new_doctor.pk}/change/")
    page.wait_for_selector("#login-reset")
    follow(page, "#login-reset")
    second = page.inner_text("#login-password")
    assert second != first
    shot(page, "doctor_reset_1_admin_new_password")
    context.close()
    phone_context = browser.new_context(viewport=PHONE, locale="zh-CN")
    phone = phone_context.new_page()
    phone.goto(f"{live_server.url}/m/login/")
    phone.fill("#id_username", "13807781234")
    phone.fill("#id_password", first)
    follow(phone, "button[type=submit]")
    assert "/m/login/" in phone.url  # the old one-time password no longer works
    phone_context.close()
    _phone_first_login(browser, live_server, "13807781234", second, "doctor_reset")


def test_bureau_account_created_with_role_and_reach(live_server, browser, new_doctor):
    from tests.factories import TownshipFactory

    TownshipFactory(name="同乐镇")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, live_server.url, "bureau")
    page.goto(f"{live_server.url}/admin/clinics/userscope/")
    follow(page, "#account-create")
    page.fill("#id_username", "tongle-deputy")
    page.fill("#id_name", "韦副主任")
    page.select_option("#id_role", "township_admin")
    page.select_option("#id_township", label="同乐镇")
    shot(page, "bureau_account_1_form")
    follow(page, "#account-create-form input[type=submit]")
    assert page.inner_text("#account-username") == "tongle-deputy"
    assert len(page.inner_text("#account-password")) >= 10 and "只显示这一次" in page.inner_text("#content-main")
    shot(page, "bureau_account_2_one_time_password")
    page.goto(f"{live_server.url}/admin/clinics/userscope/?q=tongle-deputy")
    row = page.inner_text("#result_list")
    assert "乡镇卫生院管理员" in row and "同乐镇" in row and "韦副主任" in row
    shot(page, "bureau_account_3_list")
    context.close()
