"""Leave entered by admins, decisions on the request's page with a comment, balances shown, swaps
decided only after the colleague's consent (issue 16)."""

import datetime

import pytest
from django.urls import reverse

from clinics.models import Role
from notifications.models import Notification
from staffing.rosters.models import DecisionStatus, DutyDay, LeaveEntitlement, LeaveRequest, SwapRequest
from staffing.rosters.services.leave import leave_request_create
from staffing.rosters.services.swaps import swap_request_create
from tests.factories import TownshipFactory, clinic_with_doctors, make_user
from tests.rosters.conftest import on_call

D = datetime.date


def _entry(doctor, **extra):
    return {"doctor": doctor.pk, "kind": "sick", "start_date": "2026-10-03", "end_date": "2026-10-04",
            "reason": "电话请病假", "decision_note": "", **extra}


def test_township_admin_records_approved_sick_leave_and_the_roster_follows(township, client):
    a, admin, clinic = township["a"], township["admin"], township["clinic"]
    was_on_call = {d.date for d in DutyDay.objects.filter(doctor=a, date__in=[D(2026, 10, 3), D(2026, 10, 4)])}
    client.force_login(admin)
    page = client.get(reverse("admin:rosters_leaverequest_add"))
    assert page.status_code == 200 and a.name in page.content.decode()
    response = client.post(reverse("admin:rosters_leaverequest_add"), _entry(a, approve="on", decision_note="好好休息"))
    leave = LeaveRequest.objects.get(doctor=a)
    assert response.status_code == 302 and response["Location"].endswith(f"/{leave.pk}/change/")
    assert leave.status == DecisionStatus.APPROVED and leave.entered_by == admin and leave.requested_by == admin
    assert leave.decision_note == "好好休息" and leave.decided_by == admin
    assert not DutyDay.objects.filter(doctor=a, date__in=[D(2026, 10, 3), D(2026, 10, 4)]).exists()
    for day in was_on_call:
        assert on_call(clinic, day) != a
    notes = Notification.objects.filter(kind="leave_decided", recipient=a.user)
    assert notes and all("好好休息" in n.body for n in notes)
    change = client.get(reverse("admin:rosters_leaverequest_change", args=[leave.pk])).content.decode()
    assert "由管理员代为登记" in change or "Entered by an admin" in change


def test_add_form_refuses_a_doctor_out_of_reach_and_lists_only_doctors_in_reach(township, client):
    elsewhere, (stranger, _x) = clinic_with_doctors(2, township=TownshipFactory())
    client.force_login(township["admin"])
    page = client.get(reverse("admin:rosters_leaverequest_add")).content.decode()
    assert township["a"].name in page and stranger.name not in page
    response = client.post(reverse("admin:rosters_leaverequest_add"), _entry(stranger))
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not LeaveRequest.objects.exists()


def test_add_page_shows_the_chosen_doctors_balances_without_saving(township, client):
    a = township["a"]
    leave_request_create(doctor=a, kind="annual", start_date=D(2026, 10, 20), end_date=D(2026, 10, 21), reason="x",
                         acting_user=township["admin"], approve=True)
    client.force_login(township["admin"])
    response = client.post(reverse("admin:rosters_leaverequest_add"), {"doctor": a.pk, "_balance": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and "data-balances" in page and "errorlist" not in page
    assert LeaveRequest.objects.count() == 1
    # annual: 7 a year, 2 approved, 5 left
    row = page.split('data-kind="annual"')[1].split("</tr>")[0]
    assert "<td>7</td><td>2</td>" in row and "<td>5</td><td>0</td>" in row


def test_decide_on_the_change_page_with_a_comment_the_doctor_sees(township, client):
    a, admin = township["a"], township["admin"]
    leave = leave_request_create(doctor=a, kind="personal", start_date=D(2026, 10, 20), end_date=D(2026, 10, 20),
                                 reason="家事", acting_user=a.user)
    client.force_login(admin)
    change = client.get(reverse("admin:rosters_leaverequest_change", args=[leave.pk])).content.decode()
    assert 'id="decide-form"' in change and "data-balances" in change
    response = client.post(reverse("admin:rosters_leaverequest_decide", args=[leave.pk]),
                           {"_reject": "1", "decision_note": "当天乡镇检查，请改期"})
    assert response.status_code == 302
    leave.refresh_from_db()
    assert leave.status == DecisionStatus.REJECTED and leave.decision_note == "当天乡镇检查，请改期"
    client.force_login(a.user)
    phone = client.get(reverse("rosters:my-duty")).content.decode()
    assert "当天乡镇检查，请改期" in phone


def test_approving_past_the_entitlement_needs_the_tick(township, client):
    a, admin = township["a"], township["admin"]
    LeaveEntitlement.objects.create(year=2026, kind="personal", doctor=a, days=1, note="个人额度")
    leave = leave_request_create(doctor=a, kind="personal", start_date=D(2026, 10, 20), end_date=D(2026, 10, 21),
                                 reason="家事", acting_user=a.user)
    client.force_login(admin)
    change = client.get(reverse("admin:rosters_leaverequest_change", args=[leave.pk])).content.decode()
    assert "data-over-balance" in change and "exceed_balance" in change
    url = reverse("admin:rosters_leaverequest_decide", args=[leave.pk])
    refused = client.post(url, {"_approve": "1", "decision_note": "同意"}, follow=True)
    leave.refresh_from_db()
    assert leave.status == DecisionStatus.PENDING
    assert "同意" in refused.content.decode()  # the comment comes back with the refusal
    client.post(url, {"_approve": "1", "decision_note": "同意", "exceed_balance": "on"})
    leave.refresh_from_db()
    assert leave.status == DecisionStatus.APPROVED


def test_out_of_reach_request_pages_are_refused(township, client):
    other_township = TownshipFactory()
    clinic, (x, _y) = clinic_with_doctors(2, township=other_township)
    make_user(Role.VILLAGE_DOCTOR, doctor=x)
    leave = leave_request_create(doctor=x, kind="sick", start_date=D(2026, 10, 20), end_date=D(2026, 10, 20),
                                 reason="病", acting_user=x.user)
    client.force_login(township["admin"])
    assert client.get(reverse("admin:rosters_leaverequest_change", args=[leave.pk])).status_code in (302, 404)
    response = client.post(reverse("admin:rosters_leaverequest_decide", args=[leave.pk]), {"_approve": "1"})
    assert response.status_code == 404
    assert LeaveRequest.objects.get(pk=leave.pk).status == DecisionStatus.PENDING


def test_swap_page_has_no_editable_requester_and_waits_for_consent(township, client):
    a, b, admin, clinic = township["a"], township["b"], township["admin"], township["clinic"]
    give = DutyDay.objects.filter(facility=clinic, duty="on_call", doctor=a).order_by("date").first()
    swap = swap_request_create(requester=a, counterpart=b, give_date=give.date, take_date=None, reason="家里有事",
                               acting_user=a.user)
    client.force_login(admin)
    page = client.get(reverse("admin:rosters_swaprequest_change", args=[swap.pk])).content.decode()
    assert "<select" not in page and "data-awaiting" in page and 'id="decide-form"' not in page
    client.post(reverse("admin:rosters_swaprequest_decide", args=[swap.pk]), {"_approve": "1"})
    assert SwapRequest.objects.get(pk=swap.pk).status == DecisionStatus.AWAITING


@pytest.mark.parametrize("role", [Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN])
def test_entitlements_are_changed_only_county_wide(township, client, role):
    user = township["admin"] if role == Role.TOWNSHIP_ADMIN else make_user(Role.COUNTY_ADMIN)
    client.force_login(user)
    listing = client.get(reverse("admin:rosters_leaveentitlement_changelist"))
    assert listing.status_code == 200 and "2026" in listing.content.decode()
    add = client.get(reverse("admin:rosters_leaveentitlement_add"))
    assert add.status_code == (200 if role == Role.COUNTY_ADMIN else 403)


def test_leave_changelist_queries_stay_flat(township, client, django_assert_max_num_queries):
    client.force_login(township["admin"])
    url = reverse("admin:rosters_leaverequest_changelist")
    for doctor in (township["a"], township["b"]):
        leave_request_create(doctor=doctor, kind="sick", start_date=D(2026, 10, 20), end_date=D(2026, 10, 20),
                             reason="病", acting_user=township["admin"])
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for doctor in (township["c"], township["d"]):
        leave_request_create(doctor=doctor, kind="sick", start_date=D(2026, 10, 22), end_date=D(2026, 10, 22),
                             reason="病", acting_user=township["admin"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
