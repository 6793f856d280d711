"""One transition table per stateful roster model, and a state conflict answered 409 with a code
(bad input stays 400)."""

import datetime

import pytest
from django.urls import reverse

from core.errors import Conflict
from core.models import AuditEntry
from staffing.rosters.models import (
    GAP_FLOW,
    LEAVE_FLOW,
    ROSTER_FLOW,
    SWAP_FLOW,
    CoverageGap,
    DutyDay,
    LeaveRequest,
    RosterMonth,
    SwapRequest,
)
from staffing.rosters.selectors import cover_candidates
from staffing.rosters.services.gaps import gap_assign_cover
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.leave import leave_cancel, leave_decide, leave_request_create
from staffing.rosters.services.publishing import roster_publish
from staffing.rosters.services.swaps import swap_consent, swap_decide, swap_request_create
from tests.conftest import api_as
from tests.rosters.conftest import OCT, on_call

D = datetime.date


def assert_conflict(response, state: str):
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "invalid_transition" and body["state"] == state and body["detail"]
    return body


def test_the_declared_tables():
    assert ROSTER_FLOW.targets("draft") == {"published"} and ROSTER_FLOW.targets("published") == set()
    assert LEAVE_FLOW.targets("pending") == {"approved", "rejected", "cancelled"}
    assert SWAP_FLOW.targets("awaiting") == {"pending", "declined", "cancelled"}
    assert SWAP_FLOW.targets("pending") == {"approved", "rejected", "cancelled"}
    for flow in (LEAVE_FLOW, SWAP_FLOW):
        assert all(flow.targets(done) == set() for done in ("approved", "rejected", "cancelled"))
    assert GAP_FLOW.targets("open") == {"covered"} and GAP_FLOW.targets("covered") == {"open"}


def test_publishing_a_published_month_is_a_409_and_a_month_never_planned_a_400(township):
    admin, code = township["admin"], township["township"].code
    client = api_as(admin)
    again = client.post(reverse("api:roster-publish"), {"month": "2026-10", "township": code}, format="json")
    assert "2026-10" in assert_conflict(again, "published")["detail"]
    assert RosterMonth.objects.filter(month=OCT, status="published").count() == 2
    assert AuditEntry.objects.filter(action="roster.publish").count() == 2  # once per roster, not again
    never = client.post(reverse("api:roster-publish"), {"month": "2026-12", "township": code}, format="json")
    assert never.status_code == 400 and "2026-12" in str(never.json())


def test_publishing_goes_through_the_machine_and_keeps_its_audit(township):
    roster_generate(month=D(2026, 11, 1))
    assert roster_publish(month=D(2026, 11, 1), township=township["township"], acting_user=township["admin"]) == 2
    rosters = RosterMonth.objects.filter(month=D(2026, 11, 1))
    assert {(r.status, r.published_by) for r in rosters} == {("published", township["admin"])}
    entry = AuditEntry.objects.filter(action="roster.publish", object_id=str(rosters[0].pk)).get()
    assert entry.changes == {"status": "published", "month": "2026-11-01"} and entry.actor == township["admin"]


def test_deciding_a_decided_leave_is_a_409_and_changes_nothing(township):
    a, admin = township["a"], township["admin"]
    leave = leave_request_create(doctor=a, kind="annual", start_date=D(2026, 10, 20), end_date=D(2026, 10, 20), reason="x",
                                 acting_user=a.user)
    leave_decide(leave=leave, approve=False, acting_user=admin, note="人手不够")
    response = api_as(admin).post(f"/api/v1/rosters/leave/{leave.pk}/decide/", {"approve": True}, format="json")
    assert_conflict(response, "rejected")
    leave.refresh_from_db()
    assert leave.status == "rejected" and leave.decision_note == "人手不够"
    entry = AuditEntry.objects.get(action="leave.decide", object_id=str(leave.pk))
    assert entry.changes == {"status": ["pending", "rejected"]} and entry.reason == "人手不够"


def test_withdrawing_a_decided_leave_is_a_conflict_and_the_page_says_so(township, client):
    a, admin = township["a"], township["admin"]
    leave = leave_request_create(doctor=a, kind="annual", start_date=D(2026, 10, 20), end_date=D(2026, 10, 20), reason="x",
                                 acting_user=a.user)
    leave_decide(leave=leave, approve=True, acting_user=admin)
    with pytest.raises(Conflict, match="待审批") as excinfo:
        leave_cancel(leave=leave, acting_user=a.user)
    assert excinfo.value.code == "invalid_transition"
    client.force_login(a.user)
    page = client.post(reverse("rosters:leave-withdraw", args=[leave.pk]), follow=True).content.decode()
    assert "只有待审批的申请可以撤回" in page
    assert LeaveRequest.objects.get(pk=leave.pk).status == "approved"


def test_withdrawing_a_pending_leave_is_audited_through_the_machine(township):
    a = township["a"]
    leave = leave_request_create(doctor=a, kind="annual", start_date=D(2026, 10, 20), end_date=D(2026, 10, 20), reason="x",
                                 acting_user=a.user)
    leave_cancel(leave=leave, acting_user=a.user)
    assert LeaveRequest.objects.get(pk=leave.pk).status == "cancelled"
    entry = AuditEntry.objects.get(action="leave.cancel", object_id=str(leave.pk))
    assert entry.changes == {"status": ["pending", "cancelled"]} and entry.actor == a.user


def test_deciding_a_decided_swap_is_a_409(township):
    a, b, admin, clinic = township["a"], township["b"], township["admin"], township["clinic"]
    give = next(d for d in DutyDay.objects.filter(facility=clinic, duty="on_call", day_kind="weekend", doctor=a).order_by("date"))
    swap = swap_request_create(requester=a, counterpart=b, give_date=give.date, take_date=None, reason="家里有事", acting_user=a.user)
    swap_consent(swap=swap, agree=True, acting_user=b.user)
    client = api_as(admin)
    first = client.post(f"/api/v1/rosters/swaps/{swap.pk}/decide/", {"approve": True}, format="json")
    assert first.status_code == 200 and first.json()["status"] == "approved"
    again = client.post(f"/api/v1/rosters/swaps/{swap.pk}/decide/", {"approve": False}, format="json")
    assert "已审批" in assert_conflict(again, "approved")["detail"]
    assert SwapRequest.objects.get(pk=swap.pk).status == "approved" and on_call(clinic, give.date) == b
    with pytest.raises(Conflict):
        swap_decide(swap=swap, approve=True, acting_user=admin)


def _gap(township):
    """3 October at the clinic with both doctors on leave: a gap."""
    a, b, admin, clinic = township["a"], township["b"], township["admin"], township["clinic"]
    for doctor in (a, b):
        leave = leave_request_create(doctor=doctor, kind="annual", start_date=D(2026, 10, 3), end_date=D(2026, 10, 3),
                                     reason="探亲", acting_user=doctor.user)
        leave_decide(leave=leave, approve=True, acting_user=admin)
    return CoverageGap.objects.get(facility=clinic, date=D(2026, 10, 3))


def test_covering_a_covered_gap_is_a_409(township):
    admin = township["admin"]
    gap = _gap(township)
    doctor = cover_candidates([gap])[gap.pk][0].doctor
    client = api_as(admin)
    first = client.post(f"/api/v1/rosters/gaps/{gap.pk}/cover/", {"doctor_id": doctor.pk}, format="json")
    assert first.status_code == 200 and first.json()["status"] == "covered"
    again = client.post(f"/api/v1/rosters/gaps/{gap.pk}/cover/", {"doctor_id": doctor.pk}, format="json")
    assert "已有人顶班" in assert_conflict(again, "covered")["detail"]
    assert DutyDay.objects.filter(date=gap.date, source="cover").count() == 1


def test_a_gap_opens_again_through_the_machine_when_its_cover_goes_on_leave(township):
    admin = township["admin"]
    gap = _gap(township)
    cover = cover_candidates([gap])[gap.pk][0].doctor
    gap_assign_cover(gap=gap, doctor=cover, acting_user=admin, reason="同乡支援")
    assert AuditEntry.objects.get(action="gap.cover", object_id=str(gap.pk)).changes == {
        "status": ["open", "covered"], "doctor": cover.pk,
    }
    leave = leave_request_create(doctor=cover, kind="sick", start_date=D(2026, 10, 3), end_date=D(2026, 10, 3),
                                 reason="发烧", acting_user=cover.user)
    leave_decide(leave=leave, approve=True, acting_user=admin)
    gap.refresh_from_db()
    assert gap.status == "open" and gap.cover is None
    assert AuditEntry.objects.filter(action="gap.reopen", object_id=str(gap.pk)).exists()
    assert not DutyDay.objects.filter(doctor=cover, date=D(2026, 10, 3)).exists()


def test_admin_publish_of_a_published_month_is_a_message_not_a_500(township, client, county_admin):
    client.force_login(county_admin)
    client.raise_request_exception = False
    response = client.post(
        reverse("admin:rosters_rostermonth_plan"), {"month": "2026-10", "township": township["township"].pk, "publish": "1"}
    )
    assert response.status_code == 200 and "errornote" in response.content.decode()
    assert "2026-10" in response.content.decode()
