import datetime

import pytest

from clinics.models import Role
from staffing.payroll.models import PayRun
from tests.dashboard.test_dashboard import populate
from tests.e2e.conftest import follow, shot
from tests.factories import TownshipFactory, make_user
from tests.telemedicine.factories import ConsultantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dashboard_data(time_machine):
    from clinics.roles import seed_roles

    time_machine.move_to(datetime.datetime(2026, 10, 12, 18, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))), tick=True)
    seed_roles({})
    consultant = ConsultantFactory()
    run = PayRun.objects.create(month=datetime.date(2026, 9, 1), status=PayRun.Status.CALCULATED)
    populate(TownshipFactory(name="同乐镇", code="451028100"), 3, consultant=consultant, run=run)
    populate(TownshipFactory(name="甘田镇", code="451028101"), 2, consultant=consultant, run=run, offset=100)
    return make_user(Role.COUNTY_ADMIN, username="bureau")


def admin_login(page, url):
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", "bureau")
    page.fill("#id_password", "a-long-test-password-1")
    follow(page, "input[type=submit]")


def test_dashboard_renders_panels_and_charts_on_desktop(live_server, browser, dashboard_data):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    admin_login(page, live_server.url)
    page.wait_for_selector("#dashboard")
    assert "全县今日概况" in page.title()
    assert page.locator("#panel-duty").inner_text().count("未来 30 天的排班缺口") == 1
    chart = page.locator("#chart-oncall svg")
    assert chart.is_visible() and chart.bounding_box()["width"] > 200
    shot(page, "dashboard-desktop")
    page.locator("#chart-settlements").screenshot(path=str(shot(page, "dashboard-desktop").parent / "dashboard-chart-settlements.png"))
    page.locator("#chart-oncall summary").click()
    assert "周末" in page.locator("#chart-oncall details").inner_text()
    context.close()


def test_dashboard_reads_on_a_phone(live_server, phone, dashboard_data):
    admin_login(phone, live_server.url)
    phone.wait_for_selector("#dashboard")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, "the dashboard must not scroll sideways on a phone"
    assert phone.locator("#chart-payroll svg").bounding_box()["width"] <= 390
    shot(phone, "dashboard-phone")
