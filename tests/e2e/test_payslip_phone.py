import pytest

from clinics.models import Role
from staffing.payroll import services
from staffing.payroll.models import PayRun
from staffing.payroll.seeding import seed_payroll
from tests.e2e.conftest import follow, login, shot
from tests.factories import PostingFactory, make_user
from tests.payroll.conftest import OCT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_village_doctor_reads_own_payslip_on_a_phone(live_server, phone):
    seed_payroll({})
    posting = PostingFactory(doctor__name="韦秀英")
    make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="weixiuying")
    run = services.payrun_calculate(run=services.payrun_create(month=OCT, acting_user=None), acting_user=None)
    services.payrun_approve(run=PayRun.objects.get(pk=run.pk), acting_user=None, acknowledge_warnings=True)

    login(phone, live_server.url, "weixiuying")
    follow(phone, "a[data-menu=payslips]")
    assert "我的工资" in phone.inner_text("body")
    follow(phone, "a[data-payslip='2026-10']")
    body = phone.inner_text("body")
    assert "县级定额补助，全月" in body and "实发" in body and "2,900.00" in body
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "the phone page must not scroll sideways"
    shot(phone, "payroll-payslip-phone")


def test_payroll_officer_sees_the_monthly_chart_in_admin(live_server, browser):
    import datetime

    seed_payroll({})
    for _ in range(3):
        PostingFactory()
    make_user(Role.PAYROLL_OFFICER, username="officer")
    for month in (datetime.date(2026, 9, 1), OCT):
        run = services.payrun_calculate(run=services.payrun_create(month=month, acting_user=None), acting_user=None)
        services.payrun_approve(run=PayRun.objects.get(pk=run.pk), acting_user=None, acknowledge_warnings=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, live_server.url, "officer")
    page.goto(f"{live_server.url}/admin/payroll/payrun/")
    assert page.locator("svg rect").count() > 4
    assert "各月按项目合计" in page.inner_text("body")
    shot(page, "payroll-admin-chart")
    context.close()
