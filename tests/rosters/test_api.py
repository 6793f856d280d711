import datetime

import pytest
from django.urls import reverse

from clinics.models import Role
from staffing.rosters.models import CoverageGap, LeaveRequest
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.publishing import roster_publish
from tests.conftest import api_as
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

D = datetime.date
URL = "/api/v1/rosters/"


@pytest.fixture
def two_townships(calendar_2026, roles):
    home = TownshipFactory()
    away = TownshipFactory()
    clinic, doctors = clinic_with_doctors(2, township=home)
    foreign, _ = clinic_with_doctors(2, township=away)
    roster_generate(month=D(2026, 10, 1))
    return {"home": home, "away": away, "clinic": clinic, "doctors": doctors, "foreign": foreign}


def test_october_roster_as_the_api_returns_it(two_townships, county_admin):
    clinic = two_townships["clinic"]
    response = api_as(county_admin).get(URL, {"clinic": clinic.code, "month": "2026-10"})
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 7 + 6 + 2 * 18  # 7 holidays, 6 weekend days, 18 workdays (Saturday 10 October included)
    first = rows[0]
    assert set(first) >= {"date", "doctor", "duty", "holiday", "status"}
    assert first["date"] == "2026-10-01" and first["duty"] == "on_call" and first["holiday"] == "国庆节"
    assert first["status"] == "draft" and set(first["doctor"]) == {"id", "name"}
    saturday = [r for r in rows if r["date"] == "2026-10-10"]
    assert [r["duty"] for r in saturday] == ["day", "day"] and saturday[0]["holiday"] is None
    roster_publish(month=D(2026, 10, 1), acting_user=county_admin)
    assert api_as(county_admin).get(URL, {"clinic": clinic.code, "month": "2026-10"}).json()[0]["status"] == "published"


def test_bad_parameters_get_chinese_messages_not_500(two_townships, county_admin):
    client = api_as(county_admin)
    response = client.get(URL, {"clinic": two_townships["clinic"].code, "month": "10/2026"})
    assert response.status_code == 400 and "YYYY-MM" in response.json()["fields"]["month"][0]
    response = client.get(URL, {"month": "2026-10"})
    assert response.status_code == 400 and "代码" in response.json()["fields"]["clinic"][0]
    response = client.get(URL, {"clinic": "000000000000", "month": "2026-10"})
    assert response.status_code == 404
    response = client.post(reverse("api:roster-generate"), {"month": "2027-01"}, format="json")
    assert response.status_code == 400 and "2027" in str(response.json())


def test_scoping_township_admin_and_doctor(two_townships):
    admin = make_user(Role.TOWNSHIP_ADMIN, township=two_townships["home"])
    client = api_as(admin)
    assert client.get(URL, {"clinic": two_townships["clinic"].code, "month": "2026-10"}).status_code == 200
    assert client.get(URL, {"clinic": two_townships["foreign"].code, "month": "2026-10"}).status_code == 404
    doctor_user = make_user(Role.VILLAGE_DOCTOR, doctor=two_townships["doctors"][0])
    assert api_as(doctor_user).get(URL, {"clinic": two_townships["foreign"].code, "month": "2026-10"}).status_code == 404
    gaps = api_as(admin).get("/api/v1/rosters/gaps/").json()
    assert gaps["count"] == 0
    # publishing another township is refused
    response = client.post(reverse("api:roster-publish"), {"month": "2026-10", "township": two_townships["away"].code}, format="json")
    assert response.status_code == 400  # an out-of-reach township is "no such township", like an unknown one


def test_roster_list_query_count_is_flat(calendar_2026, county_admin, django_assert_max_num_queries):
    clinic, _ = clinic_with_doctors(2)
    big, _ = clinic_with_doctors(6)
    roster_generate(month=D(2026, 10, 1))
    client = api_as(county_admin)
    with django_assert_max_num_queries(6):
        assert len(client.get(URL, {"clinic": clinic.code, "month": "2026-10"}).json()) == 49
    with django_assert_max_num_queries(6):
        assert len(client.get(URL, {"clinic": big.code, "month": "2026-10"}).json()) == 13 + 6 * 18


def test_leave_flow_through_the_api(two_townships):
    doctor = two_townships["doctors"][0]
    colleague = two_townships["doctors"][1]
    doctor_user = make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    admin = make_user(Role.TOWNSHIP_ADMIN, township=two_townships["home"])
    client = api_as(doctor_user)
    response = client.post("/api/v1/rosters/leave/", {"kind": "sick", "start_date": "2026-10-03", "end_date": "2026-10-03", "reason": "发烧"}, format="json")
    assert response.status_code == 201, response.json()
    leave_id = response.json()["id"]
    bad = client.post("/api/v1/rosters/leave/", {"kind": "sick", "start_date": "2026-10-05", "end_date": "2026-10-04", "reason": "x"}, format="json")
    assert bad.status_code == 400 and "结束日期" in str(bad.json())
    # the doctor cannot approve their own leave
    assert client.post(f"/api/v1/rosters/leave/{leave_id}/decide/", {"approve": True}, format="json").status_code == 403
    colleague_user = make_user(Role.VILLAGE_DOCTOR, doctor=colleague)
    api_as(colleague_user).post(
        "/api/v1/rosters/leave/", {"kind": "annual", "start_date": "2026-10-03", "end_date": "2026-10-03", "reason": "探亲"}, format="json"
    )
    admin_client = api_as(admin)
    first = admin_client.post(f"/api/v1/rosters/leave/{leave_id}/decide/", {"approve": True, "note": "同意"}, format="json")
    assert first.status_code == 200 and first.json()["status"] == "approved"
    second = LeaveRequest.objects.get(doctor=colleague)
    preview = admin_client.get(f"/api/v1/rosters/leave/{second.pk}/gaps/").json()
    assert preview == [{"date": "2026-10-03", "clinic": two_townships["clinic"].code, "day_kind": "holiday"}]
    admin_client.post(f"/api/v1/rosters/leave/{second.pk}/decide/", {"approve": True}, format="json")
    gaps = admin_client.get("/api/v1/rosters/gaps/", {"status": "open"}).json()["results"]
    assert [g["date"] for g in gaps] == ["2026-10-03"]
    assert gaps[0]["candidates"] == []  # the other township's doctors are not candidates
    again = admin_client.post(f"/api/v1/rosters/leave/{leave_id}/decide/", {"approve": False}, format="json")
    assert again.status_code == 409 and "已审批" in again.json()["detail"]
    assert again.json()["code"] == "invalid_transition" and again.json()["state"] == "approved"


def test_gap_list_query_count_is_flat(calendar_2026, county_admin, django_assert_max_num_queries):
    township = TownshipFactory()
    for _ in range(3):
        clinic_with_doctors(2, township=township)
    clinic_with_doctors(0, township=township)
    roster_generate(month=D(2026, 10, 1))
    client = api_as(county_admin)
    with django_assert_max_num_queries(10):
        assert client.get("/api/v1/rosters/gaps/").json()["count"] == 31
    for _ in range(2):
        clinic_with_doctors(0, township=township)
    roster_generate(month=D(2026, 10, 1))
    assert CoverageGap.objects.count() == 93
    with django_assert_max_num_queries(10):
        body = client.get("/api/v1/rosters/gaps/").json()
    assert body["count"] == 93 and body["results"][0]["candidates"]


def test_summary_and_xlsx(two_townships, county_admin, django_assert_max_num_queries):
    client = api_as(county_admin)
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/rosters/summary/", {"month": "2026-10"}).json()
    row = next(r for r in body if r["clinic"] == two_townships["clinic"].code)
    assert sum(d["holiday_oncall"] for d in row["doctors"]) == 7
    assert sum(d["weekend_oncall"] for d in row["doctors"]) == 6
    assert all(d["day_duties"] == 18 for d in row["doctors"])
    response = client.get("/api/v1/rosters/summary/xlsx/", {"month": "2026-10"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    doctor_user = make_user(Role.VILLAGE_DOCTOR, doctor=two_townships["doctors"][0])
    assert api_as(doctor_user).get("/api/v1/rosters/summary/", {"month": "2026-10"}).status_code == 403
