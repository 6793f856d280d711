"""Leave an admin enters, in Chromium (1366×900), as the township admin who does it: a doctor
phones in sick, the admin records the leave for them and approves it on its page with a comment;
the roster grid shows 假 and the gap it leaves; the doctor's phone shows the leave, its mark and
the comment. (Entering it approved at once: tests/rosters/test_leave_admin.py.)"""

import datetime
from pathlib import Path

import pytest

from clinics.models import Role
from staffing.rosters.models import CoverageGap, DecisionStatus, DutyDay, LeaveRequest
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.holidays import holiday_year_load
from staffing.rosters.services.publishing import roster_publish
from tests.e2e.conftest import follow, login, shot
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
OCT = datetime.date(2026, 10, 1)
SICK_DAY = datetime.date(2026, 10, 13)  # a Tuesday workday
SHOTS = Path("/tmp/shots/leave")


def keep(page, name):
    """The screenshot in var/screenshots/ and beside the other leave shots."""
    path = shot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / path.name).write_bytes(path.read_bytes())


@pytest.fixture
def county(roles):
    holiday_year_load(year=2026)
    township = TownshipFactory(name="同乐镇")
    # One doctor alone at the clinic: their sick day leaves a gap nobody there can fill.
    clinic, (alone,) = clinic_with_doctors(1, township=township, name="平寨村卫生室")
    make_user(Role.VILLAGE_DOCTOR, doctor=alone, username="pingzhai_doc")
    roster_generate(month=OCT)
    roster_publish(month=OCT, township=township, acting_user=None)
    make_user(Role.TOWNSHIP_ADMIN, township=township, username="tongle_admin")
    return {"township": township, "clinic": clinic, "doctor": alone}


def admin_login(page, url, username):
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "a-long-test-password-1")
    follow(page, "input[type=submit]")


def test_township_admin_enters_sick_leave_and_the_grid_and_phone_show_it(live_server, browser, county):
    doctor = county["doctor"]
    assert DutyDay.objects.filter(doctor=doctor, date=SICK_DAY, duty="day").exists()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    admin_login(page, live_server.url, "tongle_admin")
    page.goto(f"{live_server.url}/admin/rosters/leaverequest/")
    follow(page, ".object-tools a.addlink")
    page.select_option("#id_doctor", str(doctor.pk))
    page.select_option("#id_kind", "sick")
    follow(page, "input[name=_balance]")
    assert page.locator("[data-balances] tr[data-kind=sick]").count() == 1
    page.fill("#id_start_date", SICK_DAY.isoformat())
    page.fill("#id_end_date", SICK_DAY.isoformat())
    page.fill("#id_reason", "早上电话请病假，发烧")
    keep(page, "leave-admin-entry")
    follow(page, "input[name=_save]")
    leave = LeaveRequest.objects.get(doctor=doctor)
    assert leave.status == DecisionStatus.PENDING and leave.entered_by is not None
    assert page.url.endswith(f"/admin/rosters/leaverequest/{leave.pk}/change/")
    # The decision on the request's own page: the balances beside it, a comment for the doctor.
    assert page.locator("[data-balances] tr[data-kind=sick]").count() == 1
    assert "由管理员代为登记" in page.inner_text("#content")
    page.fill("#id_decision_note", "已电话确认，好好休息")
    keep(page, "leave-admin-decide")
    follow(page, "input[name=_approve]")
    leave.refresh_from_db()
    assert leave.status == DecisionStatus.APPROVED and leave.decision_note == "已电话确认，好好休息"
    assert "已电话确认，好好休息" in page.inner_text("#content")
    keep(page, "leave-admin-recorded")

    gap = CoverageGap.objects.get(facility=county["clinic"], date=SICK_DAY)
    assert gap.status == CoverageGap.Status.OPEN
    page.goto(f"{live_server.url}/admin/rosters/rostermonth/grid/?township={county['township'].pk}&month=2026-10")
    page.wait_for_selector("#roster-grid")
    cell = page.locator("#roster-grid tr", has_text=doctor.name).locator("td.rg-cell").nth(SICK_DAY.day - 1)
    assert cell.locator(".mark-leave").count() == 1
    assert cell.locator("[data-entered-by-admin]").count() == 1
    assert cell.inner_text().strip() == "假"
    gap_cell = page.locator("#roster-grid .mark-gap")
    assert gap_cell.count() == 1  # the clinic's one gap: the sick day
    keep(page, "leave-admin-grid")
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                has_touch=True, locale="zh-CN").new_page()
    login(phone, live_server.url, "pingzhai_doc")
    phone.goto(f"{live_server.url}/m/duty/")
    row = phone.locator(f'[data-leave-request="{leave.pk}"]')
    assert "已电话确认，好好休息" in row.inner_text()
    assert row.locator("[data-entered-by-admin]").count() == 1
    assert "10月13日" in row.inner_text() and "已批准" in row.inner_text()
    row.scroll_into_view_if_needed()
    keep(phone, "leave-admin-doctor-phone")
    phone.context.close()
