import datetime

import pytest
from django.urls import reverse

from clinics.models import Role
from staffing.rosters.models import CoverageGap, DutyDay, LeaveRequest, RosterMonth
from staffing.rosters.services.gaps import gap_assign_cover
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.leave import leave_decide, leave_request_create
from staffing.rosters.services.publishing import roster_publish
from staffing.rosters.services.swaps import swap_request_create
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

D = datetime.date
CHANGELISTS = [
    "rostermonth", "dutyday", "coveragegap", "leaverequest", "swaprequest", "rosteramendment", "holidayday", "calendaryear",
]


def grow(township, clinics: int):
    """Clinics with every kind of row: duties, gaps (a clinic without doctors), leave with its
    amendments, and a pending swap."""
    for _ in range(clinics):
        clinic, (a, b) = clinic_with_doctors(2, township=township)
        clinic_with_doctors(0, township=township)
        roster_generate(month=D(2026, 10, 1), facility=clinic)
        roster_publish(month=D(2026, 10, 1), township=township, acting_user=None)
        on_call = DutyDay.objects.get(facility=clinic, date=D(2026, 10, 4), duty="on_call").doctor
        leave = leave_request_create(doctor=on_call, kind="sick", start_date=D(2026, 10, 4), end_date=D(2026, 10, 4), reason="病", acting_user=None)
        leave_decide(leave=leave, approve=True, acting_user=None)
        weekend = DutyDay.objects.get(facility=clinic, date=D(2026, 10, 11), duty="on_call").doctor
        colleague = b if weekend == a else a
        make_user(Role.VILLAGE_DOCTOR, doctor=colleague)  # the colleague answers the swap on the phone
        swap_request_create(requester=weekend, counterpart=colleague, give_date=D(2026, 10, 11), take_date=None, reason="换", acting_user=None)
    roster_generate(month=D(2026, 10, 1), township=township)


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelist_queries_stay_flat(calendar_2026, county_admin, client, django_assert_max_num_queries, model):
    township = TownshipFactory()
    client.force_login(county_admin)
    url = reverse(f"admin:rosters_{model}_changelist")
    grow(township, 1)
    gap = CoverageGap.objects.filter(status="open").first()
    from staffing.rosters.selectors import cover_candidates

    candidate = cover_candidates([gap])[gap.pk]
    if candidate:
        gap_assign_cover(gap=gap, doctor=candidate[0].doctor, acting_user=None)
    response = client.get(url)
    assert response.status_code == 200
    with django_assert_max_num_queries(30) as small:
        client.get(url)
    grow(township, 3)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200


def test_plan_view_generates_publishes_and_explains_a_missing_year(calendar_2026, county_admin, client):
    clinic_with_doctors(2)
    client.force_login(county_admin)
    url = reverse("admin:rosters_rostermonth_plan")
    response = client.post(url, {"month": "2027-01", "generate": "1"})
    assert response.status_code == 200 and "2027 年的节假日安排尚未录入" in response.content.decode()
    response = client.post(url, {"month": "2026-11", "generate": "1"})
    assert response.status_code == 302 and RosterMonth.objects.get().status == "draft"
    client.post(url, {"month": "2026-11", "publish": "1", "confirm": "yes"})
    assert RosterMonth.objects.get().status == "published"
    response = client.post(url, {"month": "2026-11", "export": "1"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_leave_change_page_shows_the_gaps_it_would_create(calendar_2026, roles, client):
    township = TownshipFactory()
    clinic, (a, b) = clinic_with_doctors(2, township=township)
    admin = make_user(Role.TOWNSHIP_ADMIN, township=township)
    roster_generate(month=D(2026, 10, 1))
    leave_decide(
        leave=leave_request_create(doctor=a, kind="annual", start_date=D(2026, 10, 1), end_date=D(2026, 10, 7), reason="x", acting_user=None),
        approve=True, acting_user=admin,
    )
    pending = leave_request_create(doctor=b, kind="sick", start_date=D(2026, 10, 2), end_date=D(2026, 10, 2), reason="y", acting_user=None)
    client.force_login(admin)
    page = client.get(reverse("admin:rosters_leaverequest_change", args=[pending.pk])).content.decode()
    assert "2026-10-02" in page and clinic.name in page
    response = client.post(
        reverse("admin:rosters_leaverequest_changelist"), {"action": "approve", "_selected_action": [pending.pk]}
    )
    assert response.status_code == 302
    assert LeaveRequest.objects.get(pk=pending.pk).status == "approved"
    assert CoverageGap.objects.filter(date=D(2026, 10, 2), status="open").exists()
    gap = CoverageGap.objects.get(date=D(2026, 10, 2))
    cover_page = client.get(reverse("admin:rosters_coveragegap_cover", args=[gap.pk])).content.decode()
    assert "当天本乡镇没有空闲的医生" in cover_page


def test_calendar_csv_import_in_admin_lists_bad_rows(db, county_admin, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(county_admin)
    upload = SimpleUploadedFile("2027.csv", "date,kind,name\n2027-01-01,放假,元旦\n2027-01-05,调休,元旦\n".encode())
    response = client.post(reverse("admin:rosters_calendaryear_import"), {"file": upload})
    body = response.content.decode()
    assert "未导入任何数据" in body and "调休上班日必须是周六或周日" in body
