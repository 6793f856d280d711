"""The one-time password by SMS, end to end in Chromium: the county admin ticks 短信发送 on the
doctor's page and creates the login; the page says where the SMS went and shows no password; the
SMS carries it (captured at the gateway), the outbox shows it masked; on a phone the doctor signs
in with it and is led to set their own password."""

from pathlib import Path

import pytest

from notifications import dispatch
from notifications.models import Kind, Notification
from tests.browser import follow, shot
from tests.e2e.test_doctor_account import _admin_on_doctor, _phone_first_login, new_doctor  # noqa: F401 - fixture
from tests.staffing.test_login_password_sms import CapturingSMS, password_in_sms

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/chrome")


def keep(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    shot(page, name)


def test_one_time_password_by_sms_then_first_phone_login(live_server, browser, new_doctor, settings):  # noqa: F811
    settings.NOTIFICATIONS_CHANNEL_BACKENDS = {"sms": "tests.staffing.test_login_password_sms.CapturingSMS"}
    CapturingSMS.sent = []
    context, page = _admin_on_doctor(browser, live_server, new_doctor)
    choice = page.locator("#login-send-sms")
    assert "138****1234" in page.inner_text("#doctor-login")
    keep(page, "sms_1_doctor_page_choice")
    choice.check()
    follow(page, "#login-create")
    text = page.inner_text("#content-main")
    assert page.locator("#login-sms-sent").count() == 1 and page.locator("#login-password").count() == 0
    assert "138****1234" in text and "短信" in text
    keep(page, "sms_2_admin_sent_no_password")

    dispatch.dispatch_due()
    [(address, body)] = CapturingSMS.sent
    password = password_in_sms(body)
    assert address == "13807781234" and len(password) == 10 and password not in page.content()
    row = Notification.objects.get(kind=Kind.LOGIN_PASSWORD)
    page.goto(f"{live_server.url}/admin/notifications/notification/{row.pk}/change/")
    assert password not in page.content() and "******" in page.inner_text("#content-main")
    keep(page, "sms_3_outbox_masked")
    context.close()
    _phone_first_login(browser, live_server, "13807781234", password, "sms_doctor")
