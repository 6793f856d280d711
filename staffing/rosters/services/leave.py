"""Leave: a doctor asks, an admin sees the gaps approving would create and decides; approving
takes the doctor's duties off the roster (an on-call day passes to a colleague, otherwise the day
becomes a gap), each change an amendment of a published month."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core.audit import audit_record
from staffing.models import Doctor
from staffing.rosters import planner, selectors
from staffing.rosters.balances import leave_over_balance
from staffing.rosters.models import LEAVE_FLOW, DecisionStatus, DutyDay, LeaveRequest, RosterAmendment, RosterMonth
from staffing.rosters.services.amendments import amendment_record, describe
from staffing.rosters.services.decisions import decision_record
from staffing.rosters.services.feeds import feed_duties_changed
from staffing.rosters.services.gaps import gap_open, gaps_reopen_for
from staffing.rosters.services.notices import duty_link, notify_amended, notify_doctor
from staffing.rosters.services.reach import acting_user_or_none, acts_for_self, check_can_decide, check_doctor_reach
from staffing.selectors import doctor_current_posting


@transaction.atomic
def leave_request_create(
    *, doctor: Doctor, kind: str, start_date: datetime.date, end_date: datetime.date, reason: str, acting_user,
    client_ref: str | None = None, approve: bool = False, note: str = "", exceed_balance: bool = False,
) -> LeaveRequest:
    """`client_ref`: the phone's id of the request; sent again (a request queued offline, a retry
    after a lost answer), the request already stored under it is returned, nothing new is made.

    An admin in reach may record leave for a doctor (a doctor phoning in sick): the request keeps
    who entered it (`entered_by`), and with `approve` it is approved at once through
    `leave_decide`, so the roster changes exactly as for a doctor's request approved later."""
    client_ref = (client_ref or "").strip()
    if client_ref:
        existing = LeaveRequest.objects.filter(doctor=doctor, client_ref=client_ref).first()
        if existing is not None:
            return existing
    posting = doctor_current_posting(doctor=doctor, day=start_date)
    if posting is None:
        raise ValidationError({"start_date": _("The doctor is not posted to a clinic on the first day of the leave.")})
    for_self = acts_for_self(acting_user, doctor)
    if acting_user is not None and not for_self:
        check_can_decide(acting_user, posting.facility)
    check_doctor_reach(acting_user, doctor)
    leave = LeaveRequest(
        doctor=doctor,
        facility=posting.facility,
        kind=kind,
        start_date=start_date,
        end_date=end_date,
        reason=(reason or "").strip(),
        requested_by=acting_user_or_none(acting_user),
        entered_by=None if for_self else acting_user_or_none(acting_user),
        client_ref=client_ref,
    )
    leave.full_clean(exclude=["client_ref"])  # a duplicate id is the replay handled above and below
    clash = LeaveRequest.objects.filter(
        doctor=doctor,
        status__in=[DecisionStatus.PENDING, DecisionStatus.APPROVED],
        start_date__lte=end_date,
        end_date__gte=start_date,
    ).first()
    if clash:
        raise ValidationError(
            {"start_date": _("These dates overlap another leave request (%(start)s – %(end)s); change the dates or cancel that request.")
             % {"start": clash.start_date, "end": clash.end_date}}
        )
    try:
        with transaction.atomic():
            leave.save()
    except IntegrityError:
        # The same request sent twice at once: the other copy was stored first.
        existing = LeaveRequest.objects.filter(doctor=doctor, client_ref=client_ref).first() if client_ref else None
        if existing is None:
            raise
        return existing
    audit_record(
        actor=acting_user, action="leave.request", target=leave,
        changes={"kind": kind, "start_date": start_date, "end_date": end_date,
                 "entered_by_admin": leave.entered_by_admin}, reason=leave.reason,
    )
    if approve:
        leave = leave_decide(leave=leave, approve=True, note=note, exceed_balance=exceed_balance, acting_user=acting_user)
    return leave


@dataclass
class LeaveChange:
    duty: DutyDay  # the duty the doctor on leave loses
    replacement_doctor: Doctor | None  # who takes an on-call day instead
    gap: bool  # the clinic is left with nobody that day


def leave_plan(leave: LeaveRequest) -> list[LeaveChange]:
    """What approving `leave` does to planned rosters: each of the doctor's duties in the leave
    goes; an on-call day passes to an available colleague (`planner.choose_replacement`: fewest
    on-call days of that kind this year), otherwise it becomes a gap; a workday with no-one left
    on day duty becomes a gap. Other doctors' days are not moved. A fixed number of queries."""
    duties = list(
        DutyDay.objects.filter(doctor=leave.doctor, date__gte=leave.start_date, date__lte=leave.end_date)
        .select_related("roster__facility", "doctor")
        .order_by("date")
    )
    if not duties:
        return []
    facility_ids = {d.facility_id for d in duties}
    start, end = duties[0].date, duties[-1].date
    postings = [
        p
        for p in selectors.postings_between(start=start, end=end, facility_ids=facility_ids)
        if p.doctor_id != leave.doctor_id and p.doctor.status == Doctor.Status.ACTIVE
    ]
    others = {p.doctor_id for p in postings}
    busy = set(
        DutyDay.objects.filter(doctor_id__in=others, date__gte=start, date__lte=end).values_list("doctor_id", "date")
    )
    day_staff: dict[tuple[int, datetime.date], int] = {}
    for facility_id, day in DutyDay.objects.filter(
        facility_id__in=facility_ids, date__gte=start, date__lte=end, duty=DutyDay.Duty.DAY
    ).exclude(doctor=leave.doctor).values_list("facility_id", "date"):
        day_staff[(facility_id, day)] = day_staff.get((facility_id, day), 0) + 1
    away = set()
    for doctor_id, by_kind in selectors.leave_days(doctor_ids=others, start=start, end=end).items():
        for days in by_kind.values():
            away.update((doctor_id, d) for d in days)
    counts: dict[int, planner.Counts] = {}  # per clinic
    for (facility_id, doctor_id), by_kind in selectors.oncall_counts(
        year=start.year, before=datetime.date(end.year + 1, 1, 1), facility_ids=facility_ids
    ).items():
        counts.setdefault(facility_id, {})[doctor_id] = dict(by_kind)
    doctors = {p.doctor_id: p.doctor for p in postings}
    changes = []
    for duty in duties:
        if duty.duty == DutyDay.Duty.DAY:
            changes.append(LeaveChange(duty=duty, replacement_doctor=None, gap=day_staff.get((duty.facility_id, duty.date), 0) == 0))
            continue
        candidates = sorted({
            p.doctor_id
            for p in postings
            if p.facility_id == duty.facility_id
            and p.covers(duty.date)
            and (p.doctor_id, duty.date) not in busy
            and (p.doctor_id, duty.date) not in away
        })
        chosen = planner.choose_replacement(candidates, duty.day_kind, counts.setdefault(duty.facility_id, {}))
        if chosen is None:
            changes.append(LeaveChange(duty=duty, replacement_doctor=None, gap=True))
        else:
            busy.add((chosen, duty.date))
            changes.append(LeaveChange(duty=duty, replacement_doctor=doctors[chosen], gap=False))
    return changes


def leave_gap_preview(*, leave: LeaveRequest) -> list[LeaveChange]:
    """The coverage gaps approving this leave would create (shown to the admin first)."""
    return [c for c in leave_plan(leave) if c.gap]


def _apply_leave(*, leave: LeaveRequest, acting_user) -> None:
    changes = leave_plan(leave)
    reason = _("%(doctor)s on %(kind)s %(start)s – %(end)s") % {
        "doctor": leave.doctor.name, "kind": leave.get_kind_display(), "start": leave.start_date, "end": leave.end_date,
    }
    touched: dict[int, tuple[RosterMonth, set]] = {}
    for change in changes:
        duty = change.duty
        roster = duty.roster
        before = describe(duty)
        if duty.source == DutyDay.Source.COVER:
            gaps_reopen_for(duty=duty, acting_user=acting_user, reason=reason)
        day, facility_id, kind, duty_type = duty.date, duty.facility_id, duty.day_kind, duty.duty
        duty.delete()
        feed_duties_changed(removed=[duty])
        after = _("removed")
        notified = touched.setdefault(roster.pk, (roster, set()))[1]
        notified.add(leave.doctor)
        if change.replacement_doctor is not None:
            new = DutyDay(
                roster=roster, facility_id=facility_id, doctor=change.replacement_doctor, date=day,
                duty=duty_type, day_kind=kind, source=DutyDay.Source.REPLANNED,
            )
            new.full_clean(validate_constraints=False)
            new.save()
            feed_duties_changed(added=[new])
            after = describe(new)
            notified.add(change.replacement_doctor)
        elif change.gap:
            gap_open(roster=roster, facility_id=facility_id, day=day, day_kind=kind, acting_user=acting_user, reason=reason)
            after = _("nobody (gap)")
        amendment_record(roster=roster, day=day, action=RosterAmendment.Action.LEAVE, before=before, after=after,
                         reason=reason, acting_user=acting_user)
    for roster, doctors in touched.values():
        notify_amended(doctors=doctors, roster=roster, changes=reason)


@transaction.atomic
def leave_decide(
    *, leave: LeaveRequest, approve: bool, acting_user, note: str = "", exceed_balance: bool = False
) -> LeaveRequest:
    """Approve or reject, with a note the doctor sees (on the phone and in the notification).
    Approving past the doctor's yearly entitlement of that kind is refused (code `over_balance`,
    with the balance) unless `exceed_balance` says the admin saw it and approves anyway."""
    leave = LeaveRequest.objects.select_for_update(of=("self",)).select_related("doctor", "facility").get(pk=leave.pk)
    check_can_decide(acting_user, leave.facility)
    check_doctor_reach(acting_user, leave.doctor)
    LEAVE_FLOW.check(leave, DecisionStatus.APPROVED if approve else DecisionStatus.REJECTED)
    if approve and not exceed_balance:
        # One approval at a time per doctor: two leaves that each fit would otherwise both pass
        # the balance check and together exceed it unconfirmed.
        Doctor.objects.select_for_update().filter(pk=leave.doctor_id).first()
        over = leave_over_balance(leave=leave)
        if over:
            raise ValidationError(
                _("Approving this leave exceeds the yearly entitlement: %(why)s Tick “approve beyond the "
                  "entitlement” to approve it anyway.") % {"why": " ".join(over)},
                code="over_balance",
            )
    # Planning a month needs its calendar; fail before changing anything.
    selectors.require_years(range(leave.start_date.year, leave.end_date.year + 1))
    leave = decision_record(LEAVE_FLOW, leave, approve=approve, note=note, acting_user=acting_user)
    if approve:
        _apply_leave(leave=leave, acting_user=acting_user)
    notify_doctor(
        doctor=leave.doctor,
        kind="leave_decided",
        about=leave,
        context={
            "start": leave.start_date.isoformat(),
            "end": leave.end_date.isoformat(),
            "leave_type": leave.get_kind_display(),
            "decision": pgettext("decision", "approved") if approve else pgettext("decision", "rejected"),
            "note": leave.decision_note,
        },
        link=duty_link(),
    )
    return leave


@transaction.atomic
def leave_cancel(*, leave: LeaveRequest, acting_user) -> LeaveRequest:
    """A doctor withdraws a pending request (an admin may withdraw it for them); a decided one is a
    409 (`LEAVE_FLOW`)."""
    leave = LeaveRequest.objects.select_for_update(of=("self",)).select_related("doctor", "facility").get(pk=leave.pk)
    if not acts_for_self(acting_user, leave.doctor):
        check_can_decide(acting_user, leave.facility)
        check_doctor_reach(acting_user, leave.doctor)
    return LEAVE_FLOW.transition(leave, to=DecisionStatus.CANCELLED, kind="cancel", actor=acting_user, lock=False)
