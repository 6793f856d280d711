"""The payroll officer's review in headless Chromium: the run page with its warnings grouped, the
approval, the mark-paid confirmation, the payslip page with its sources as sentences, the funding
report, and the doctor's phone payslip. Screenshots: var/screenshots/payroll-review*.png."""

import pytest

from clinics.models import Role
from notifications.models import Notification
from staffing.payroll import services
from staffing.payroll.models import PayRun, Payslip
from staffing.payroll.seeding import seed_payroll
from tests.e2e.conftest import PHONE, follow, login, shot
from tests.factories import FacilityFactory, PostingFactory, TownshipFactory, make_user
from tests.payroll.conftest import OCT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PLURALS = [
    ("%(counter)s warning in these groups:", "%(counter)s warnings in these groups:"),
    ("%(counter)s doctor in %(clinics)s clinics", "%(counter)s doctors in %(clinics)s clinics"),
    ("%(counter)s warning about the run", "%(counter)s warnings about the run"),
    ("%(counter)s run", "%(counter)s runs"),
]
def _no_raw_data(text: str) -> None:
    for raw in ('{"', '[{', '"code"', "payable_days", "roster_unpublished", "545600"):
        assert raw not in text, f"raw data {raw!r} on the page"


def test_payroll_officer_reviews_approves_and_marks_paid(live_server, browser):
    seed_payroll({})
    gantian = TownshipFactory(name="甘田镇", code="451028101")
    tongle = TownshipFactory(name="同乐镇", code="451028102")
    clinics = [FacilityFactory(name="城南村卫生室", township=gantian), FacilityFactory(name="河口村卫生室", township=gantian),
               FacilityFactory(name="百坭村卫生室", township=tongle)]
    names = ["韦秀英", "黄志强", "罗美兰", "岑国庆", "陆春燕", "班文军"]
    doctors = [PostingFactory(facility=clinics[i // 2], doctor__name=name).doctor for i, name in enumerate(names)]
    doctor_user = make_user(Role.VILLAGE_DOCTOR, doctor=doctors[0], username="weixiuying")
    make_user(Role.PAYROLL_OFFICER, username="officer")
    run = services.payrun_calculate(run=services.payrun_create(month=OCT, acting_user=None), acting_user=None)

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, live_server.url, "officer")

    page.goto(f"{live_server.url}/admin/payroll/payrun/{run.pk}/change/")
    groups = page.locator("details.warning-group")
    assert groups.count() >= 2
    roster = page.locator('details[data-code="roster_unpublished"]')
    assert roster.get_attribute("data-count") == "6"
    text = page.inner_text("#content")
    assert "排班未发布" in text and "城南村卫生室" in text and "同乐镇" in text
    assert page.locator('details[data-code="roster_unpublished"] a[data-doctor]').count() == 6
    _no_raw_data(text)
    shot(page, "payroll-review-run")

    page.goto(f"{live_server.url}/admin/payroll/payrun/{run.pk}/approve/")
    assert "审批前提示" in page.inner_text("#content")
    shot(page, "payroll-review-approve")
    follow(page, "input[type=submit][class=default]")
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.APPROVED
    assert not Notification.objects.filter(kind="payslip_available").exists()

    page.goto(f"{live_server.url}/admin/payroll/payrun/")
    page.check(f"input[name=_selected_action][value='{run.pk}']")
    page.select_option("select[name=action]", "mark_paid")
    follow(page, "button[name=index]")
    confirm = page.inner_text("#content")
    net = f"{PayRun.objects.get(pk=run.pk).net_total:,.2f}"
    assert page.inner_text("#mark-paid-net") == net and "officer" in confirm and "审批人" in confirm
    shot(page, "payroll-review-mark-paid")
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.APPROVED  # nothing happened yet
    follow(page, "input[type=submit][class=default]")
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.PAID
    assert Notification.objects.filter(kind="payslip_available", recipient=doctor_user).exists()

    slip = Payslip.objects.get(run=run, doctor=doctors[0])
    page.goto(f"{live_server.url}/admin/payroll/payslip/{slip.pk}/")
    body = page.inner_text("#content")
    assert "应发天数 31 天 / 当月 31 天 × 1,400.00 元" in body and "政策版本" in body
    _no_raw_data(body)
    shot(page, "payroll-review-payslip")

    page.goto(f"{live_server.url}/admin/payroll/payrun/funding-report/?month=2026-10")
    report = page.inner_text("#content")
    assert "县财政" in report or "县级财政" in report
    assert page.inner_text("#funding-total") == f"{PayRun.objects.get(pk=run.pk).gross_total:,.2f}"
    shot(page, "payroll-review-funding")
    context.close()

    phone_context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    phone = phone_context.new_page()
    login(phone, live_server.url, "weixiuying")
    phone.goto(f"{live_server.url}/m/pay/{slip.pk}/")
    mobile = phone.inner_text("body")
    assert "应发天数" in mobile and f"{slip.net:,.2f}" in mobile
    _no_raw_data(mobile)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the phone page must not scroll sideways"
    shot(phone, "payroll-review-payslip-phone")
    phone_context.close()
