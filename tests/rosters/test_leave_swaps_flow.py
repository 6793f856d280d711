"""Services and phone pages of issue 16's leave and swaps: balances (calendar days, clipped to the
year, the doctor's own entitlement first), admin-entered leave, the colleague's consent, withdrawal."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from core.errors import Conflict
from notifications.models import Notification
from staffing.rosters.balances import leave_balances
from staffing.rosters.models import DecisionStatus, DutyDay, LeaveEntitlement, SwapRequest
from staffing.rosters.services.leave import leave_decide, leave_request_create
from staffing.rosters.services.reassign import duty_reassign
from staffing.rosters.services.swaps import swap_cancel, swap_consent, swap_decide, swap_request_create
from tests.conftest import api_as
from tests.rosters.conftest import on_call

D = datetime.date


def _by_kind(doctor, year):
    return {b.kind: b for b in leave_balances(doctor_id=doctor.pk, year=year)}


def test_balances_count_calendar_days_within_the_year_in_two_queries(township, django_assert_num_queries):
    a, admin = township["a"], township["admin"]
    # 3–4 October (a weekend in the National Day holiday) counts 2 days; 30 Dec – 2 Jan counts 2 in 2026
    leave_request_create(doctor=a, kind="annual", start_date=D(2026, 10, 3), end_date=D(2026, 10, 4), reason="x",
                         acting_user=admin, approve=True)
    leave_request_create(doctor=a, kind="annual", start_date=D(2026, 12, 30), end_date=D(2027, 1, 2), reason="y",
                         acting_user=a.user)
    leave_request_create(doctor=a, kind="sick", start_date=D(2026, 10, 20), end_date=D(2026, 10, 20), reason="z",
                         acting_user=a.user)
    with django_assert_num_queries(2):
        balances = _by_kind(a, 2026)
    assert (balances["annual"].entitled, balances["annual"].approved, balances["annual"].pending) == (7, 2, 2)
    assert balances["annual"].remaining == 5 and balances["sick"].pending == 1 and balances["sick"].approved == 0
    assert _by_kind(a, 2027)["annual"].pending == 2  # the other two days fall in 2027


def test_a_doctors_own_entitlement_wins_and_a_later_year_takes_the_latest(township):
    a, b = township["a"], township["b"]
    LeaveEntitlement.objects.create(year=2026, kind="annual", doctor=a, days=15, note="工龄20年以上")
    assert _by_kind(a, 2026)["annual"].entitled == 15 and _by_kind(b, 2026)["annual"].entitled == 7
    assert _by_kind(a, 2030)["annual"].entitled == 7  # the county's 2027 row is later than a's 2026 one
    LeaveEntitlement.objects.filter(doctor=None, kind="training").delete()
    assert _by_kind(a, 2026)["training"].entitled is None and _by_kind(a, 2026)["training"].remaining is None


def test_approving_beyond_the_entitlement_is_refused_unless_confirmed(township):
    a, admin = township["a"], township["admin"]
    leave = leave_request_create(doctor=a, kind="personal", start_date=D(2026, 10, 12), end_date=D(2026, 10, 23),
                                 reason="家中有事", acting_user=a.user)
    with pytest.raises(ValidationError) as refused:
        leave_decide(leave=leave, approve=True, acting_user=admin)
    assert refused.value.error_list[0].code == "over_balance"
    assert "10" in refused.value.messages[0] and "12" in refused.value.messages[0]
    leave.refresh_from_db()
    assert leave.status == DecisionStatus.PENDING
    leave_decide(leave=leave, approve=True, acting_user=admin, exceed_balance=True, note="特批")
    leave.refresh_from_db()
    assert leave.status == DecisionStatus.APPROVED and _by_kind(a, 2026)["personal"].remaining == -2


def test_admin_entered_leave_is_marked_and_approved_through_the_same_service(township):
    a, admin, clinic = township["a"], township["admin"], township["clinic"]
    day = DutyDay.objects.filter(doctor=a, duty="on_call").order_by("date").first().date
    leave = leave_request_create(doctor=a, kind="sick", start_date=day, end_date=day, reason="电话请假",
                                 acting_user=admin, approve=True, note="已电话确认")
    assert leave.entered_by == admin and leave.status == DecisionStatus.APPROVED
    assert on_call(clinic, day) == township["b"]  # the on-call day passed to the colleague, as for any approval
    own = leave_request_create(doctor=a, kind="sick", start_date=D(2026, 10, 27), end_date=D(2026, 10, 27),
                               reason="自己申请", acting_user=a.user)
    assert own.entered_by is None and own.status == DecisionStatus.PENDING


def _swap(township):
    a, b, clinic = township["a"], township["b"], township["clinic"]
    give = DutyDay.objects.filter(facility=clinic, duty="on_call", doctor=a).order_by("date").first()
    return swap_request_create(requester=a, counterpart=b, give_date=give.date, take_date=None, reason="家里有事",
                               acting_user=a.user), give.date


def test_a_swap_waits_for_the_colleague_then_the_township_decides(township):
    a, b, admin, clinic = township["a"], township["b"], township["admin"], township["clinic"]
    swap, day = _swap(township)
    assert swap.status == DecisionStatus.AWAITING
    # The colleague is told they were asked (not only shown it on the duty page); the requester is not.
    asked = Notification.objects.get(kind="swap_asked", recipient=b.user, channel="in_app")
    assert a.name in asked.body and swap.give_date.isoformat() in asked.body and "同意" in asked.body
    assert not Notification.objects.filter(kind="swap_asked", recipient=a.user).exists()
    with pytest.raises(Conflict, match="同事|colleague"):
        swap_decide(swap=swap, approve=True, acting_user=admin)
    with pytest.raises(PermissionDenied):
        swap_consent(swap=swap, agree=True, acting_user=a.user)  # not the requester's answer to give
    with pytest.raises(PermissionDenied):
        swap_consent(swap=swap, agree=True, acting_user=admin)
    swap = swap_consent(swap=swap, agree=True, acting_user=b.user)
    assert swap.status == DecisionStatus.PENDING and swap.colleague_answered_at is not None
    swap_decide(swap=swap, approve=True, acting_user=admin, note="同意")
    assert on_call(clinic, day) == b


def test_a_declined_swap_ends_and_the_requester_is_told(township):
    a, b = township["a"], township["b"]
    swap, _day = _swap(township)
    swap_consent(swap=swap, agree=False, acting_user=b.user)
    swap.refresh_from_db()
    assert swap.status == DecisionStatus.DECLINED
    assert Notification.objects.filter(kind="swap_decided", recipient=a.user).exists()
    assert not Notification.objects.filter(kind="swap_decided", recipient=b.user).exists()
    with pytest.raises(Conflict):
        swap_consent(swap=swap, agree=True, acting_user=b.user)


def test_withdraw_until_decided_then_409(township):
    a, b, admin = township["a"], township["b"], township["admin"]
    swap, _day = _swap(township)
    assert swap_cancel(swap=swap, acting_user=a.user).status == DecisionStatus.CANCELLED
    swap, _day = _swap(township)
    swap_consent(swap=swap, agree=True, acting_user=b.user)
    swap_decide(swap=swap, approve=False, acting_user=admin, note="人手不足")
    with pytest.raises(Conflict):
        swap_cancel(swap=swap, acting_user=a.user)


def test_a_colleague_without_a_phone_login_cannot_be_asked(township):
    a, clinic = township["a"], township["clinic"]
    b = township["b"]
    b.user = None
    b.save(update_fields=["user"])
    give = DutyDay.objects.filter(facility=clinic, duty="on_call", doctor=a).order_by("date").first()
    with pytest.raises(ValidationError) as refused:
        swap_request_create(requester=a, counterpart=b, give_date=give.date, take_date=None, reason="x", acting_user=a.user)
    assert "登录" in " ".join(refused.value.messages) or "login" in " ".join(refused.value.messages)


def test_reassigned_duty_is_marked_manual(calendar_2026, roles):
    from staffing.rosters.services.generation import roster_generate
    from tests.factories import clinic_with_doctors

    clinic, (a, b) = clinic_with_doctors(2)
    roster_generate(month=D(2026, 11, 1), facility=clinic)
    duty = DutyDay.objects.filter(facility=clinic, duty="on_call", doctor=a).first()
    duty = duty_reassign(duty=duty, doctor=b, acting_user=None)
    assert DutyDay.objects.get(pk=duty.pk).source == DutyDay.Source.MANUAL


# --- Phone pages and API ---------------------------------------------------------------------------


def test_colleague_consents_on_the_phone_and_requester_withdraws(township, client):
    a, b = township["a"], township["b"]
    swap, _day = _swap(township)
    client.force_login(b.user)
    home = client.get(reverse("rosters:my-duty")).content.decode()
    assert "data-swaps-asked" in home and f'data-swap="{swap.pk}"' in home
    client.post(reverse("rosters:swap-answer", args=[swap.pk]), {"answer": "agree"})
    assert SwapRequest.objects.get(pk=swap.pk).status == DecisionStatus.PENDING
    # The requester cannot answer for the colleague, and the colleague cannot withdraw it.
    assert client.post(reverse("rosters:swap-withdraw", args=[swap.pk])).status_code == 404
    client.force_login(a.user)
    assert client.post(reverse("rosters:swap-answer", args=[swap.pk]), {"answer": "agree"}).status_code == 404
    page = client.get(reverse("rosters:my-duty")).content.decode()
    assert reverse("rosters:swap-withdraw", args=[swap.pk]) in page
    client.post(reverse("rosters:swap-withdraw", args=[swap.pk]))
    assert SwapRequest.objects.get(pk=swap.pk).status == DecisionStatus.CANCELLED


def test_phone_leave_page_shows_my_balances(township, client):
    client.force_login(township["a"].user)
    page = client.get(reverse("rosters:leave-new")).content.decode()
    assert "data-balances" in page and 'data-kind="annual"' in page


def test_api_withdraw_answer_and_admin_entry(township):
    a, b, admin = township["a"], township["b"], township["admin"]
    swap, _day = _swap(township)
    answered = api_as(b.user).post(f"/api/v1/rosters/swaps/{swap.pk}/answer/", {"agree": True}, format="json")
    assert answered.status_code == 200 and answered.json()["status"] == "pending"
    withdrawn = api_as(a.user).post(f"/api/v1/rosters/swaps/{swap.pk}/withdraw/")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "cancelled"
    again = api_as(a.user).post(f"/api/v1/rosters/swaps/{swap.pk}/withdraw/")
    assert again.status_code == 409 and "撤回" in again.json()["detail"]
    entered = api_as(admin).post("/api/v1/rosters/leave/", {
        "doctor_id": a.pk, "kind": "sick", "start_date": "2026-10-20", "end_date": "2026-10-20", "reason": "电话请假",
        "approve": True, "note": "保重"}, format="json")
    assert entered.status_code == 201, entered.content
    assert entered.json()["entered_by_admin"] is True and entered.json()["status"] == "approved"
    assert entered.json()["decision_note"] == "保重"
    decided = api_as(a.user).post(f"/api/v1/rosters/leave/{entered.json()['id']}/withdraw/")
    assert decided.status_code == 409
    own = api_as(a.user).post("/api/v1/rosters/leave/", {
        "kind": "annual", "start_date": "2026-10-27", "end_date": "2026-10-27", "reason": "探亲"}, format="json")
    assert own.json()["entered_by_admin"] is False
    assert api_as(a.user).post(f"/api/v1/rosters/leave/{own.json()['id']}/withdraw/").json()["status"] == "cancelled"


def test_deciding_via_api_past_the_balance_needs_exceed_balance(township):
    a, admin = township["a"], township["admin"]
    leave = leave_request_create(doctor=a, kind="personal", start_date=D(2026, 10, 12), end_date=D(2026, 10, 23),
                                 reason="家中有事", acting_user=a.user)
    refused = api_as(admin).post(f"/api/v1/rosters/leave/{leave.pk}/decide/", {"approve": True}, format="json")
    assert refused.status_code == 400
    ok = api_as(admin).post(f"/api/v1/rosters/leave/{leave.pk}/decide/", {"approve": True, "exceed_balance": True},
                            format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
