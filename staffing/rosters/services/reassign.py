"""Reassign one duty of a draft roster to another doctor of the clinic (the grid's cell). The rules
the planner keeps are checked and each refusal says why: the month is a draft (a published month
changes through leave, swaps and cover), the doctor is posted at the clinic and active that day,
is not on approved leave, and has no other duty that day (here or covering elsewhere)."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.audit import audit_record
from staffing.models import Doctor
from staffing.rosters import selectors
from staffing.rosters.models import ROSTER_FLOW, DutyDay, RosterMonth
from staffing.rosters.services.amendments import describe
from staffing.rosters.services.reach import check_can_decide, check_doctor_reach


@dataclass(frozen=True)
class ReassignCandidate:
    doctor: Doctor
    problem: str  # "" when the doctor may take the duty, else why not


def _problem(*, duty: DutyDay, doctor: Doctor, postings, busy: dict, away: set) -> str:
    day = duty.date
    if doctor.pk == duty.doctor_id:
        return _("%(name)s already has this duty.") % {"name": doctor.name}
    if doctor.status != Doctor.Status.ACTIVE:
        return _("%(name)s is not an active doctor (status: %(status)s).") % {"name": doctor.name, "status": doctor.get_status_display()}
    if not any(p.doctor_id == doctor.pk and p.facility_id == duty.facility_id and p.covers(day) for p in postings):
        return _("%(name)s is not posted at this clinic on %(date)s; only the clinic's own doctors take its duties "
                 "(a doctor of another clinic covers a gap from the gap page).") % {"name": doctor.name, "date": day}
    if (doctor.pk, day) in away:
        return _("%(name)s is on approved leave on %(date)s.") % {"name": doctor.name, "date": day}
    other = busy.get((doctor.pk, day))
    if other is not None:
        return _("%(name)s already has a duty on %(date)s (%(duty)s at %(clinic)s): a doctor has one duty a day.") % {
            "name": doctor.name, "date": day, "duty": other.get_duty_display(), "clinic": other.facility.name,
        }
    return ""


def reassign_candidates(*, duty: DutyDay) -> list[ReassignCandidate]:
    """The clinic's doctors posted in the duty's month other than the duty's own, each with the
    reason they cannot take it (empty when they can). Four queries."""
    day = duty.date
    postings = selectors.postings_between(start=day, end=day, facility_ids=[duty.facility_id])
    doctors = {p.doctor_id: p.doctor for p in postings if p.doctor_id != duty.doctor_id}
    return _judge(duty=duty, doctors=list(doctors.values()), postings=postings)


def _judge(*, duty: DutyDay, doctors: list[Doctor], postings) -> list[ReassignCandidate]:
    day = duty.date
    ids = [d.pk for d in doctors]
    busy = {
        (d.doctor_id, d.date): d
        for d in DutyDay.objects.filter(doctor_id__in=ids, date=day).exclude(pk=duty.pk).select_related("facility")
    }
    away = {(leave.doctor_id, day) for leave in selectors.approved_leave(doctor_ids=ids, start=day, end=day)}
    found = [ReassignCandidate(doctor=d, problem=_problem(duty=duty, doctor=d, postings=postings, busy=busy, away=away)) for d in doctors]
    return sorted(found, key=lambda c: (bool(c.problem), c.doctor.name, c.doctor.pk))


@transaction.atomic
def duty_reassign(*, duty: DutyDay, doctor: Doctor, acting_user, reason: str = "") -> DutyDay:
    """Give `duty` (of a draft month) to `doctor`; refused with the rule it breaks. Audited
    (`roster.reassign` on the roster, before and after)."""
    duty = DutyDay.objects.select_for_update(of=("self",)).select_related("roster__facility", "doctor", "facility").get(pk=duty.pk)
    roster = RosterMonth.objects.select_for_update().get(pk=duty.roster_id)
    check_can_decide(acting_user, roster.facility)
    check_doctor_reach(acting_user, doctor)
    if roster.is_published:
        raise ValidationError(
            _("The roster of %(clinic)s for %(month)s is published: change it through leave, swaps or cover, "
              "which are recorded as amendments and told to the doctors.")
            % {"clinic": roster.facility.name, "month": date_format(roster.month, "YEAR_MONTH_FORMAT")},
            code="published",
        )
    if roster.status not in ROSTER_FLOW.sources(RosterMonth.Status.PUBLISHED):
        raise ValidationError(_("Only a draft roster can be changed here."), code="not_draft")
    if duty.source == DutyDay.Source.COVER:
        raise ValidationError(_("This is a cover for a gap; change it on the coverage gap page."), code="cover")
    postings = selectors.postings_between(start=duty.date, end=duty.date, facility_ids=[duty.facility_id])
    problem = _judge(duty=duty, doctors=[doctor], postings=postings)[0].problem
    if problem:
        raise ValidationError({"doctor": ValidationError(problem, code="rule")})
    before = describe(duty)
    old_doctor = duty.doctor
    duty.doctor = doctor
    duty.source = DutyDay.Source.MANUAL
    duty.save(update_fields=["doctor", "source"])
    why = (reason or "").strip()[:200]
    audit_record(
        actor=acting_user, action="roster.reassign", target=roster,
        changes={"date": duty.date, "duty": duty.duty, "doctor": [old_doctor.pk, doctor.pk],
                 "before": before, "after": describe(duty)},
        reason=why,
    )
    return duty
