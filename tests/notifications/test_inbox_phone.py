"""The inbox on a phone: headless Chromium (the e2e fixtures), Chinese, read/unread."""

import pytest
from django.utils import timezone

from clinics.models import Role
from notifications import dispatch
from notifications.services import notify
from tests.browser import follow, login, shot
from tests.factories import PostingFactory, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_doctor_reads_reminders_in_the_phone_inbox(live_server, phone, settings):  # noqa: F811
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = False
    posting = PostingFactory(doctor__name="韦秀英")
    user = make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="weixiuying")
    clinic = posting.facility
    notify(recipient=user, kind="consult_reminder_24h", about=clinic,
           context={"start": "12月1日 09:30", "facility_name": clinic.name, "doctor_name": "韦秀英",
                    "consultant_name": "县医院 黄主任"})  # fmt: skip
    notify(recipient=user, kind="roster_published", about=posting, context={"month": "2026年12月", "facility_name": clinic.name})
    notify(recipient=user, kind="payslip_available", about=posting.doctor, context={"month": "2026年11月", "net_pay": "3,260.00"})
    dispatch.dispatch_due()
    assert timezone.now()

    login(phone, live_server.url, "weixiuying")
    follow(phone, "a[data-menu=inbox]")
    body = phone.inner_text("body")
    assert "消息" in body and "3 条未读" in body
    assert "明天有远程会诊" in body and "排班表已发布" in body and "工资条已发放" in body
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "notifications-inbox-unread")

    with phone.expect_navigation():
        phone.locator("article.note").first.get_by_role("button", name="标为已读").click()
    assert "2 条未读" in phone.inner_text("body")
    follow(phone, "nav.tabs a[href='?read=read']")
    assert phone.locator("article.note").count() == 1
    shot(phone, "notifications-inbox-read-tab")

    follow(phone, "text=通知设置")
    phone.fill("#id_mobile", "1390000")
    follow(phone, "main button[type=submit]")
    assert "11" in phone.inner_text("body")
    shot(phone, "notifications-settings-error")
