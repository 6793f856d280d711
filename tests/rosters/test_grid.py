"""The roster workbench: the grid of a township's month, reassigning a draft's duty, the buttons
and the publish confirmation, the plan page's messages."""

import datetime
import re

import pytest
from django.urls import reverse

from clinics.models import Role
from core.models import AuditEntry
from staffing.rosters.grid import roster_grid
from staffing.rosters.models import DutyDay, RosterMonth
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.leave import leave_decide, leave_request_create
from staffing.rosters.services.publishing import roster_publish
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

D = datetime.date
DEC = D(2026, 12, 1)
OCT = D(2026, 10, 1)
GRID = "admin:rosters_rostermonth_grid"


def grid_url(township, month="2026-10"):
    return f"{reverse(GRID)}?township={township.pk}&month={month}"


@pytest.fixture
def two_townships(calendar_2026, roles):
    home, away = TownshipFactory(name="同乐镇"), TownshipFactory(name="甘田镇")
    clinic, (a, b) = clinic_with_doctors(2, township=home, name="平寨村卫生室")
    other, _ = clinic_with_doctors(2, township=away, name="达道村卫生室")
    roster_generate(month=OCT)
    admin = make_user(Role.TOWNSHIP_ADMIN, township=home)
    return {"home": home, "away": away, "clinic": clinic, "other": other, "a": a, "b": b, "admin": admin}


def test_the_grid_shows_day_kinds_duties_leave_and_gaps(two_townships, client):
    t = two_townships
    leave = leave_request_create(doctor=t["a"], kind="sick", start_date=D(2026, 10, 12), end_date=D(2026, 10, 12), reason="病",
                                 acting_user=None)
    leave_decide(leave=leave, approve=True, acting_user=None)
    leave_request_create(doctor=t["b"], kind="annual", start_date=D(2026, 10, 20), end_date=D(2026, 10, 20), reason="事",
                         acting_user=None)
    grid = roster_grid(user=t["admin"], township=t["home"], month=OCT)
    kinds = {d.date: d.kind for d in grid.days}
    assert kinds[D(2026, 10, 1)] == "holiday" and kinds[D(2026, 10, 10)] == "makeup_workday"
    assert kinds[D(2026, 10, 11)] == "weekend"
    assert kinds[D(2026, 10, 17)] == "weekend" and kinds[D(2026, 10, 12)] == "workday"
    assert [c.facility for c in grid.clinics] == [t["clinic"]]
    rows = {r.name: r for r in grid.clinics[0].doctors}
    a_cell = rows[t["a"].name].cells[11]
    assert a_cell.leave == "approved" and a_cell.duty is None
    assert rows[t["b"].name].cells[19].leave == "pending" and rows[t["b"].name].cells[19].duty is not None

    client.force_login(t["admin"])
    page = client.get(grid_url(t["home"])).content.decode()
    assert "平寨村卫生室" in page and "达道村卫生室" not in page
    assert "kind-holiday" in page and "kind-makeup_workday" in page and "kind-weekend" in page
    assert "国庆节" in page and "调休上班日" in page and "草稿" in page
    table = page[page.index('id="roster-grid"'):]
    assert table.count('class="mark mark-leave"') == 1 and 'class="mark mark-pending"' not in table  # b still works that day
    assert 'class="mark-flag"' in table
    assert "2026年10月" in page


def test_a_township_admin_cannot_open_another_townships_grid(two_townships, client):
    client.force_login(two_townships["admin"])
    response = client.get(grid_url(two_townships["away"]))
    body = response.content.decode()
    assert "达道村卫生室" not in body and "roster-grid" not in body
    options = re.findall(r"<option[^>]*>([^<]+)</option>", body)
    assert options == ["同乐镇"]


def test_a_county_admin_chooses_any_township(two_townships, county_admin, client):
    client.force_login(county_admin)
    body = client.get(grid_url(two_townships["away"])).content.decode()
    assert "达道村卫生室" in body and "平寨村卫生室" not in body
    assert set(re.findall(r"<option[^>]*>([^<]+)</option>", body)) >= {"同乐镇", "甘田镇"}


def test_grid_queries_stay_flat_as_clinics_grow(calendar_2026, roles, client, django_assert_max_num_queries):
    township = TownshipFactory()
    admin = make_user(Role.TOWNSHIP_ADMIN, township=township)
    client.force_login(admin)

    def add(n):
        for _ in range(n):
            clinic, (a, _b) = clinic_with_doctors(2, township=township)
            clinic_with_doctors(0, township=township)
        roster_generate(month=OCT, township=township)
        leave = leave_request_create(doctor=a, kind="sick", start_date=D(2026, 10, 5), end_date=D(2026, 10, 6), reason="病",
                                     acting_user=None)
        leave_decide(leave=leave, approve=True, acting_user=None)

    add(1)  # two clinics: one staffed, one with gaps every day
    client.get(grid_url(township))
    with django_assert_max_num_queries(40) as small:
        response = client.get(grid_url(township))
    assert response.status_code == 200
    add(2)  # six clinics
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(grid_url(township))
    assert response.content.decode().count('class="rg-clinic"') == 6


def test_reassigning_a_draft_duty_checks_the_rules_and_is_audited(two_townships, client):
    t = two_townships
    client.force_login(t["admin"])
    weekend = DutyDay.objects.get(facility=t["clinic"], date=D(2026, 10, 17))
    other = t["b"] if weekend.doctor == t["a"] else t["a"]
    url = reverse("admin:rosters_rostermonth_reassign", args=[weekend.pk])
    assert other.name in client.get(url).content.decode()
    response = client.post(url, {"doctor": other.pk, "reason": "家中有事"})
    assert response.status_code == 302
    weekend.refresh_from_db()
    assert weekend.doctor == other
    entry = AuditEntry.objects.get(action="roster.reassign")
    assert entry.reason == "家中有事" and entry.changes["date"] == "2026-10-17"

    workday = DutyDay.objects.filter(facility=t["clinic"], date=D(2026, 10, 12), doctor=t["a"]).get()
    response = client.post(reverse("admin:rosters_rostermonth_reassign", args=[workday.pk]), {"doctor": t["b"].pk})
    body = response.content.decode()
    assert response.status_code == 200 and "一天只能有一个班" in body
    assert DutyDay.objects.get(pk=workday.pk).doctor == t["a"]


def test_a_doctor_on_leave_is_refused_with_the_reason(two_townships, client):
    t = two_townships
    day = DutyDay.objects.get(facility=t["clinic"], date=D(2026, 10, 24))
    other = t["b"] if day.doctor == t["a"] else t["a"]
    leave_decide(
        leave=leave_request_create(doctor=other, kind="sick", start_date=D(2026, 10, 24), end_date=D(2026, 10, 24), reason="病",
                                   acting_user=None),
        approve=True, acting_user=None,
    )
    client.force_login(t["admin"])
    response = client.post(reverse("admin:rosters_rostermonth_reassign", args=[day.pk]), {"doctor": other.pk})
    assert "已批准请假" in response.content.decode()


def test_a_published_month_is_read_only_in_the_grid(two_townships, client):
    t = two_townships
    roster_publish(month=OCT, township=t["home"], acting_user=t["admin"])
    client.force_login(t["admin"])
    page = client.get(grid_url(t["home"])).content.decode()
    assert "rostermonth/grid/duty/" not in page and "只读" in page
    duty = DutyDay.objects.filter(facility=t["clinic"]).first()
    response = client.post(reverse("admin:rosters_rostermonth_reassign", args=[duty.pk]), {"doctor": t["b"].pk}, follow=True)
    assert "平寨村卫生室 2026年10月 的排班已发布" in response.content.decode()
    assert DutyDay.objects.get(pk=duty.pk).doctor == duty.doctor


def test_another_townships_duty_is_not_found(two_townships, client):
    duty = DutyDay.objects.filter(facility=two_townships["other"]).first()
    client.force_login(two_townships["admin"])
    assert client.get(reverse("admin:rosters_rostermonth_reassign", args=[duty.pk])).status_code == 404


def test_changelist_offers_grid_plan_publish_and_export(two_townships, client):
    client.force_login(two_townships["admin"])
    page = client.get(reverse("admin:rosters_rostermonth_changelist")).content.decode()
    for tool in ("tool-grid", "tool-plan", "tool-publish", "tool-export"):
        assert f'id="{tool}"' in page
    assert "2026年10月" in page and "2026年10月1日" not in page
    change = client.get(reverse("admin:rosters_rostermonth_change", args=[RosterMonth.objects.filter(
        facility=two_townships["clinic"]).get().pk])).content.decode()
    assert "2026年10月" in change and 'id="roster-grid"' in change and "2026年10月1日" not in change


def test_publishing_from_the_plan_page_asks_first_with_counts(two_townships, client):
    t = two_townships
    make_user(Role.VILLAGE_DOCTOR, doctor=t["a"])
    make_user(Role.VILLAGE_DOCTOR, doctor=t["b"])
    client.force_login(t["admin"])
    url = reverse("admin:rosters_rostermonth_plan")
    response = client.post(url, {"month": "2026-10", "township": t["home"].pk, "publish": "1"})
    body = response.content.decode()
    assert response.status_code == 200 and RosterMonth.objects.get(facility=t["clinic"]).status == "draft"
    summary = re.search(r'<p id="publish-summary">(.*?)</p>', body, re.S).group(1)
    assert "1 份" in summary and "2 名医生" in summary
    response = client.post(url, {"month": "2026-10", "township": t["home"].pk, "publish": "1", "confirm": "yes",
                                 "back": grid_url(t["home"])})
    assert response.status_code == 302 and response["Location"] == grid_url(t["home"])
    assert RosterMonth.objects.get(facility=t["clinic"]).status == "published"
    told = client.get(response["Location"]).content.decode()
    assert "2026年10月：已发布 1 个卫生室的排班。" in told


def test_plan_page_offers_a_township_admin_only_their_township_and_says_once_which_calendar_to_load(two_townships, client):
    client.force_login(two_townships["admin"])
    url = reverse("admin:rosters_rostermonth_plan")
    page = client.get(url).content.decode()
    assert "全县" not in page and re.findall(r"<option[^>]*>([^<]+)</option>", page) == ["同乐镇"]
    body = client.post(url, {"month": "2027-01", "township": two_townships["home"].pk, "generate": "1"}).content.decode()
    assert body.count("2027") >= 1 and body.count("尚未录入") == 1
    assert reverse("admin:rosters_calendaryear_import") in body and "manage.py" not in body
