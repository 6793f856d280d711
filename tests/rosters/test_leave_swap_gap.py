import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clinics.models import Role
from core.errors import Conflict
from notifications.models import Notification
from staffing.rosters.models import CoverageGap, DutyDay, LeaveRequest, RosterAmendment, RosterMonth
from staffing.rosters.selectors import cover_candidates, doctor_on_leave, duty_summary, leave_days, month_publication
from staffing.rosters.services.gaps import gap_assign_cover
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.leave import leave_decide, leave_gap_preview, leave_request_create
from staffing.rosters.services.publishing import roster_publish
from staffing.rosters.services.swaps import swap_consent, swap_decide, swap_request_create
from tests.factories import TownshipFactory, make_user
from tests.rosters.conftest import OCT, on_call

D = datetime.date


def test_publishing_locks_and_notifies_each_doctor(township):
    assert month_publication(month=OCT, facility_ids=[township["clinic"].pk]) == {township["clinic"].pk: "published"}
    assert Notification.objects.filter(kind="roster_published", recipient=township["a"].user).exists()
    summary = duty_summary(month=OCT, doctor_ids=[township["a"].pk, township["b"].pk])
    assert summary[township["a"].pk].published
    total_holiday = len(summary[township["a"].pk].holiday_oncall_dates) + len(summary[township["b"].pk].holiday_oncall_dates)
    assert total_holiday == 7


def test_leave_creates_a_gap_when_both_doctors_are_away(township):
    a, b, admin, clinic = township["a"], township["b"], township["admin"], township["clinic"]
    # 3 October (a holiday): whoever is on call goes on leave; the colleague takes over.
    first = on_call(clinic, D(2026, 10, 3))
    colleague = b if first == a else a
    leave = leave_request_create(doctor=first, kind="annual", start_date=D(2026, 10, 3), end_date=D(2026, 10, 4),
                                 reason="探亲", acting_user=first.user)
    assert leave_gap_preview(leave=leave) == []
    leave_decide(leave=leave, approve=True, acting_user=admin)
    assert on_call(clinic, D(2026, 10, 3)) == colleague
    assert doctor_on_leave(doctor_id=first.pk, day=D(2026, 10, 3))
    assert leave_days(doctor_ids=[first.pk], start=OCT, end=D(2026, 10, 31)) == {first.pk: {"annual": [D(2026, 10, 3), D(2026, 10, 4)]}}
    amendment = RosterAmendment.objects.filter(date=D(2026, 10, 3)).get()
    assert amendment.by == admin and first.name in amendment.reason and amendment.action == "leave"
    assert Notification.objects.filter(kind="leave_decided", recipient=first.user).exists()
    assert Notification.objects.filter(kind="roster_amended", recipient=colleague.user).exists()

    # Now the colleague asks for 3 October too: nobody is left, the preview shows the gap first.
    second = leave_request_create(doctor=colleague, kind="sick", start_date=D(2026, 10, 3), end_date=D(2026, 10, 3),
                                  reason="发烧", acting_user=colleague.user)
    preview = leave_gap_preview(leave=second)
    assert [(c.duty.date, c.duty.day_kind) for c in preview] == [(D(2026, 10, 3), "holiday")]
    leave_decide(leave=second, approve=True, acting_user=admin)
    gap = CoverageGap.objects.get(facility=clinic, date=D(2026, 10, 3))
    assert gap.status == "open"
    assert not DutyDay.objects.filter(facility=clinic, date=D(2026, 10, 3)).exists()

    # Cover: the off doctor of the other clinic, fewest on-call days this year first.
    candidates = cover_candidates([gap])[gap.pk]
    off = {township["c"], township["d"]} - {on_call(township["other"], D(2026, 10, 3))}
    assert [c.doctor for c in candidates] == list(off)
    duty = gap_assign_cover(gap=gap, doctor=candidates[0].doctor, acting_user=admin, reason="同乡支援")
    gap.refresh_from_db()
    assert gap.status == "covered" and gap.cover == duty and duty.facility == clinic and duty.source == "cover"
    with pytest.raises(Conflict, match="已有人顶班") as excinfo:
        gap_assign_cover(gap=gap, doctor=candidates[0].doctor, acting_user=admin)
    assert excinfo.value.code == "invalid_transition" and excinfo.value.extra == {"state": "covered"}


def test_workday_leave_of_one_doctor_leaves_no_gap_but_both_do(township):
    a, b, admin = township["a"], township["b"], township["admin"]
    for doctor in (a, b):
        leave = leave_request_create(doctor=doctor, kind="training", start_date=D(2026, 10, 12), end_date=D(2026, 10, 12),
                                     reason="县培训", acting_user=admin)
        preview = leave_gap_preview(leave=leave)
        leave_decide(leave=leave, approve=True, acting_user=admin)
    assert [(c.duty.date, c.duty.day_kind) for c in preview] == [(D(2026, 10, 12), "workday")]
    assert CoverageGap.objects.filter(date=D(2026, 10, 12), day_kind="workday").count() == 1


def test_overlapping_leave_and_foreign_admin_are_refused(township):
    a = township["a"]
    leave_request_create(doctor=a, kind="annual", start_date=D(2026, 10, 20), end_date=D(2026, 10, 22), reason="x", acting_user=a.user)
    with pytest.raises(ValidationError) as excinfo:
        leave_request_create(doctor=a, kind="sick", start_date=D(2026, 10, 22), end_date=D(2026, 10, 23), reason="y", acting_user=a.user)
    assert "重叠" in str(excinfo.value.messages)
    stranger = make_user(Role.TOWNSHIP_ADMIN, township=TownshipFactory())
    with pytest.raises(PermissionDenied):
        leave_decide(leave=LeaveRequest.objects.get(), approve=True, acting_user=stranger)


def test_swap_moves_the_duty_and_counts_follow(township):
    a, b, admin, clinic = township["a"], township["b"], township["admin"], township["clinic"]
    weekend = [d for d in DutyDay.objects.filter(facility=clinic, duty="on_call", day_kind="weekend").order_by("date")]
    give = next(d for d in weekend if d.doctor == a)
    take = next(d for d in weekend if d.doctor == b and d.date > give.date)
    swap = swap_request_create(requester=a, counterpart=b, give_date=give.date, take_date=take.date, reason="家里有事", acting_user=a.user)
    swap_consent(swap=swap, agree=True, acting_user=b.user)
    swap_decide(swap=swap, approve=True, acting_user=admin)
    assert on_call(clinic, give.date) == b and on_call(clinic, take.date) == a
    assert RosterAmendment.objects.filter(action="swap").count() == 2
    assert Notification.objects.filter(kind="swap_decided", recipient=b.user).exists()
    summary = duty_summary(month=OCT, doctor_ids=[a.pk])
    assert take.date in summary[a.pk].weekend_oncall_dates and give.date not in summary[a.pk].weekend_oncall_dates


def test_swap_needs_a_duty_to_hand_over(township):
    a, b, clinic = township["a"], township["b"], township["clinic"]
    b_day = next(d for d in DutyDay.objects.filter(facility=clinic, duty="on_call", doctor=b))
    with pytest.raises(ValidationError) as excinfo:
        swap_request_create(requester=a, counterpart=b, give_date=b_day.date, take_date=None, reason="x", acting_user=a.user)
    assert "没有" in " ".join(excinfo.value.messages)


def test_publish_by_a_township_admin_of_another_township_is_refused(township):
    roster_generate(month=D(2026, 11, 1))
    stranger = make_user(Role.TOWNSHIP_ADMIN, township=TownshipFactory())
    with pytest.raises(PermissionDenied):
        roster_publish(month=D(2026, 11, 1), township=township["township"], acting_user=stranger)
    with pytest.raises(ValidationError, match="2026-12"):
        roster_publish(month=D(2026, 12, 1), township=township["township"], acting_user=township["admin"])
    assert RosterMonth.objects.filter(month=D(2026, 11, 1), status="draft").count() == 2
