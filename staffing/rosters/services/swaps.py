"""Swaps: a doctor hands an on-call day of the published roster to a colleague of the same clinic
(optionally taking one of theirs in return); the colleague consents or declines on the phone
(`SWAP_FLOW`: awaiting → pending or declined); then an admin decides, and approving amends the
roster. The requester may withdraw the request until it is decided."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core.audit import audit_record
from staffing.models import Doctor
from staffing.rosters import selectors
from staffing.rosters.models import SWAP_FLOW, DecisionStatus, DutyDay, RosterAmendment, SwapRequest
from staffing.rosters.services.amendments import amendment_record, describe
from staffing.rosters.services.decisions import decision_record
from staffing.rosters.services.feeds import feed_duties_changed
from staffing.rosters.services.notices import duty_link, notify_amended, notify_doctor
from staffing.rosters.services.reach import acting_user_or_none, acts_for_self, check_can_decide, check_doctor_reach
from staffing.selectors import doctor_current_posting


def _on_call(doctor: Doctor, day: datetime.date) -> DutyDay | None:
    return (
        DutyDay.objects.filter(doctor=doctor, date=day, duty=DutyDay.Duty.ON_CALL)
        .select_related("roster__facility", "doctor")
        .first()
    )


def _check_swap(*, requester: Doctor, counterpart: Doctor, give_date, take_date) -> tuple[DutyDay, DutyDay | None]:
    give = _on_call(requester, give_date)
    if give is None:
        raise ValidationError({"give_date": _("You have no on-call duty on %(date)s to hand over.") % {"date": give_date}})
    if not give.roster.is_published:
        # A draft is replaced whenever it is planned again, which would undo the swap.
        raise ValidationError({"give_date": _("The roster of %(month)s is not published yet; swaps are made on the published roster.") % {"month": f"{give_date:%Y-%m}"}})
    posting = doctor_current_posting(doctor=counterpart, day=give_date)
    if posting is None or posting.facility_id != give.facility_id:
        raise ValidationError({"counterpart": _("A swap is only between the doctors of the same clinic.")})
    if counterpart.status != Doctor.Status.ACTIVE:
        raise ValidationError({"counterpart": _("%(name)s is not an active doctor.") % {"name": counterpart.name}})
    if DutyDay.objects.filter(doctor=counterpart, date=give_date).exists() or selectors.doctor_on_leave(
        doctor_id=counterpart.pk, day=give_date
    ):
        raise ValidationError({"give_date": _("%(name)s is not free on %(date)s.") % {"name": counterpart.name, "date": give_date}})
    take = None
    if take_date is not None:
        take = _on_call(counterpart, take_date)
        if take is None or take.facility_id != give.facility_id:
            raise ValidationError({"take_date": _("%(name)s has no on-call duty here on %(date)s.") % {"name": counterpart.name, "date": take_date}})
        if DutyDay.objects.filter(doctor=requester, date=take_date).exists() or selectors.doctor_on_leave(
            doctor_id=requester.pk, day=take_date
        ):
            raise ValidationError({"take_date": _("You are not free on %(date)s.") % {"date": take_date}})
    return give, take


@transaction.atomic
def swap_request_create(
    *, requester: Doctor, counterpart: Doctor, give_date: datetime.date, take_date: datetime.date | None, reason: str, acting_user
) -> SwapRequest:
    check_doctor_reach(acting_user, requester, field="requester")
    check_doctor_reach(acting_user, counterpart, field="counterpart")
    give, _take = _check_swap(requester=requester, counterpart=counterpart, give_date=give_date, take_date=take_date)
    if acting_user is not None and not acts_for_self(acting_user, requester):
        check_can_decide(acting_user, give.roster.facility)
    if counterpart.user_id is None:
        raise ValidationError({"counterpart": _(
            "%(name)s has no phone login yet and cannot consent to a swap; ask the township admin to create one."
        ) % {"name": counterpart.name}})
    swap = SwapRequest(
        facility_id=give.facility_id, requester=requester, counterpart=counterpart, give_date=give_date,
        take_date=take_date, reason=(reason or "").strip(), requested_by=acting_user_or_none(acting_user),
        status=DecisionStatus.AWAITING,
    )
    swap.full_clean()
    swap.save()
    audit_record(actor=acting_user, action="swap.request", target=swap,
                 changes={"give_date": give_date, "take_date": take_date, "counterpart": counterpart.pk}, reason=swap.reason)
    # The colleague decides first: tell them on their channels, not only on the duty page.
    notify_doctor(
        doctor=counterpart,
        kind="swap_asked",
        about=swap,
        context={"requester": requester.name, "give_date": give_date.isoformat(),
                 "take_date": take_date.isoformat() if take_date else "", "reason": swap.reason},
        link=duty_link(),
    )
    return swap


def _locked(swap: SwapRequest) -> SwapRequest:
    return (
        SwapRequest.objects.select_for_update(of=("self",)).select_related("requester", "counterpart", "facility").get(pk=swap.pk)
    )


def _notify_pair(swap: SwapRequest, *, decision: str, doctors=None) -> None:
    for doctor, other in ((swap.requester, swap.counterpart), (swap.counterpart, swap.requester)):
        if doctors is not None and doctor not in doctors:
            continue
        notify_doctor(
            doctor=doctor,
            kind="swap_decided",
            about=swap,
            context={"other_doctor": other.name, "start": swap.give_date.isoformat(), "decision": decision,
                     "note": swap.decision_note},
            link=duty_link(),
        )


@transaction.atomic
def swap_consent(*, swap: SwapRequest, agree: bool, acting_user) -> SwapRequest:
    """The colleague's answer, on their own phone only. Agreeing checks the swap again (both still
    free, the duty still theirs) and passes it to the township; declining ends it and tells the
    requester."""
    swap = _locked(swap)
    if not acts_for_self(acting_user, swap.counterpart):
        raise PermissionDenied(_("Only the colleague asked can answer this swap request."))
    to = DecisionStatus.PENDING if agree else DecisionStatus.DECLINED
    SWAP_FLOW.check(swap, to)
    if agree:
        _check_swap(requester=swap.requester, counterpart=swap.counterpart, give_date=swap.give_date,
                    take_date=swap.take_date)
    swap = SWAP_FLOW.transition(
        swap, to=to, kind="consent", actor=acting_user, fields={"colleague_answered_at": timezone.now()}, lock=False,
    )
    if not agree:
        _notify_pair(swap, decision=pgettext("decision", "declined by your colleague"), doctors={swap.requester})
    return swap


@transaction.atomic
def swap_cancel(*, swap: SwapRequest, acting_user) -> SwapRequest:
    """The requester withdraws a swap not yet decided (an admin in reach may withdraw it for them);
    a decided one is a 409 (`SWAP_FLOW`)."""
    swap = _locked(swap)
    if not acts_for_self(acting_user, swap.requester):
        check_can_decide(acting_user, swap.facility)
        check_doctor_reach(acting_user, swap.requester, field="requester")
    return SWAP_FLOW.transition(swap, to=DecisionStatus.CANCELLED, kind="cancel", actor=acting_user, lock=False)


@transaction.atomic
def swap_decide(*, swap: SwapRequest, approve: bool, acting_user, note: str = "") -> SwapRequest:
    swap = _locked(swap)
    check_can_decide(acting_user, swap.facility)
    check_doctor_reach(acting_user, swap.requester, field="requester")
    check_doctor_reach(acting_user, swap.counterpart, field="counterpart")
    SWAP_FLOW.check(swap, DecisionStatus.APPROVED if approve else DecisionStatus.REJECTED)
    if approve:
        give, take = _check_swap(
            requester=swap.requester, counterpart=swap.counterpart, give_date=swap.give_date, take_date=swap.take_date
        )
        reason = _("swap between %(a)s and %(b)s: %(why)s") % {"a": swap.requester.name, "b": swap.counterpart.name, "why": swap.reason}
        for duty, new_doctor in ((give, swap.counterpart), (take, swap.requester)):
            if duty is None:
                continue
            before = describe(duty)
            feed_duties_changed(removed=[duty])  # the duty leaves this doctor's feed, cancelled
            duty.doctor = new_doctor
            duty.source = DutyDay.Source.SWAP
            duty.save(update_fields=["doctor", "source"])
            feed_duties_changed(added=[duty])  # and is a new event in the colleague's
            amendment_record(roster=duty.roster, day=duty.date, action=RosterAmendment.Action.SWAP, before=before,
                             after=describe(duty), reason=reason, acting_user=acting_user)
        notify_amended(doctors={swap.requester, swap.counterpart}, roster=give.roster, changes=reason)
    swap = decision_record(SWAP_FLOW, swap, approve=approve, note=note, acting_user=acting_user)
    _notify_pair(swap, decision=pgettext("decision", "approved") if approve else pgettext("decision", "rejected"))
    return swap
