"""The roster workbench in Chromium (1366×900): changelist → grid → reassign (and a refusal) →
publish with its confirmation."""

import datetime

import pytest

from clinics.models import Role
from staffing.rosters.models import DutyDay, RosterMonth
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.holidays import holiday_year_load
from tests.e2e.conftest import follow, shot
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
OCT = datetime.date(2026, 10, 1)


@pytest.fixture
def workbench(roles):
    holiday_year_load(year=2026)
    township = TownshipFactory(name="同乐镇")
    clinic, (a, b) = clinic_with_doctors(2, township=township, name="平寨村卫生室")
    clinic_with_doctors(2, township=township, name="达道村卫生室")
    for doctor in (a, b):
        make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    roster_generate(month=OCT)
    make_user(Role.TOWNSHIP_ADMIN, township=township, username="tongle")
    make_user(Role.COUNTY_ADMIN, username="bureau")
    return {"township": township, "clinic": clinic, "a": a, "b": b}


def admin_login(page, url, username):
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "a-long-test-password-1")
    follow(page, "input[type=submit]")


@pytest.mark.parametrize("username", ["tongle", "bureau"])
def test_grid_reassign_refusal_and_publish(live_server, browser, workbench, username):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    admin_login(page, live_server.url, username)
    page.goto(f"{live_server.url}/admin/rosters/rostermonth/")
    assert "2026年10月" in page.inner_text("#result_list")
    shot(page, f"roster-changelist-{username}")
    follow(page, "#tool-grid")
    page.goto(f"{page.url.split('?')[0]}?township={workbench['township'].pk}&month=2026-10")
    page.wait_for_selector("#roster-grid")
    assert "国庆节" in page.inner_text("#grid-holidays")
    assert page.locator("#roster-grid th.kind-holiday").count() >= 7
    colour = page.eval_on_selector("#roster-grid th.kind-holiday", "e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(247, 212, 212)"
    shot(page, f"roster-grid-{username}")

    weekend = DutyDay.objects.get(facility=workbench["clinic"], date=datetime.date(2026, 10, 17))
    other = workbench["b"] if weekend.doctor == workbench["a"] else workbench["a"]
    follow(page, f'a.mark[href$="/grid/duty/{weekend.pk}/"]')
    page.select_option("#id_doctor", str(other.pk))
    follow(page, "#reassign-submit")
    assert "已改由" in page.inner_text(".messagelist")
    weekend.refresh_from_db()
    assert weekend.doctor == other

    workday = DutyDay.objects.filter(facility=workbench["clinic"], date=datetime.date(2026, 10, 12)).first()
    colleague = workbench["b"] if workday.doctor == workbench["a"] else workbench["a"]
    follow(page, f'a.mark[href$="/grid/duty/{workday.pk}/"]')
    page.select_option("#id_doctor", str(colleague.pk))
    follow(page, "#reassign-submit")
    assert "一天只能有一个班" in page.inner_text("#reassign-refusal")
    shot(page, f"roster-reassign-refused-{username}")
    follow(page, ".cancel-link")

    follow(page, "#grid-publish")
    summary = page.inner_text("#publish-summary")
    assert "2 份" in summary and "2 名医生" in summary
    shot(page, f"roster-publish-confirm-{username}")
    follow(page, "#confirm-publish")
    assert set(RosterMonth.objects.filter(month=OCT).values_list("status", flat=True)) == {"published"}
    assert "只读" in page.inner_text("#grid-counts")
    context.close()
