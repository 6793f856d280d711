"""Each role's dashboard in Chromium at 1366×900, the Chinese refusal page, and no request on the
way answered 404 (the icon included)."""

import datetime

import pytest

from clinics.models import Role
from staffing.payroll.models import PayRun
from tests.dashboard.test_dashboard import populate
from tests.e2e.conftest import follow, shot
from tests.factories import TownshipFactory, make_user
from tests.telemedicine.factories import ConsultantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROLES = [
    (Role.COUNTY_ADMIN, "全县今日概况", {"panel-payroll", "panel-settlements", "panel-duty", "panel-teleconsult"}, set()),
    (Role.TOWNSHIP_ADMIN, "同乐镇今日概况", {"panel-duty", "panel-settlements"}, {"panel-notifications"}),
    (Role.PAYROLL_OFFICER, "全县今日概况", {"panel-payroll", "panel-duty"}, {"panel-settlements", "panel-teleconsult"}),
    (Role.INSURANCE_CLERK, "全县今日概况", {"panel-settlements"}, {"panel-payroll", "panel-duty", "panel-teleconsult"}),
]


@pytest.fixture
def county(time_machine):
    from clinics.roles import seed_roles

    time_machine.move_to(datetime.datetime(2026, 10, 12, 18, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))), tick=True)
    seed_roles({})
    consultant = ConsultantFactory()
    run = PayRun.objects.create(month=datetime.date(2026, 9, 1), status=PayRun.Status.CALCULATED)
    township = TownshipFactory(name="同乐镇", code="451028100")
    populate(township, 2, consultant=consultant, run=run)
    populate(TownshipFactory(name="甘田镇", code="451028101"), 1, consultant=consultant, run=run, offset=100)
    return township


def admin_login(page, url, username):
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "a-long-test-password-1")
    follow(page, "input[type=submit]")


def watch_404s(page) -> list:
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    return missing


@pytest.mark.parametrize(("role", "title", "shown", "hidden"), ROLES)
def test_each_roles_dashboard_in_chromium(live_server, browser, county, role, title, shown, hidden):
    make_user(role, township=county if role == Role.TOWNSHIP_ADMIN else None, username=f"u-{role}")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    missing = watch_404s(page)

    admin_login(page, live_server.url, f"u-{role}")
    page.wait_for_selector("#dashboard")

    assert page.locator("#content h1").first.inner_text() == title
    for panel in shown:
        assert page.locator(f"#{panel}").is_visible()
    for panel in hidden:
        assert page.locator(f"#{panel}").count() == 0
    shot(page, f"dashboard-role-{role}")
    assert missing == []
    context.close()


def test_the_refusal_page_is_chinese_and_leads_home(live_server, browser, county):
    make_user(Role.INSURANCE_CLERK, username="clerk")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    missing = watch_404s(page)
    admin_login(page, live_server.url, "clerk")

    response = page.goto(f"{live_server.url}/admin/payroll/payrun/")

    assert response.status == 403
    assert page.locator("h1").inner_text() == "您无权打开此页面"
    assert "工资专员" in page.locator("#roles-needed").inner_text()
    shot(page, "forbidden-403")
    follow(page, "#home-link")
    assert page.url == f"{live_server.url}/admin/"
    assert missing == []
    context.close()
