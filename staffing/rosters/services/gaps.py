"""Cover for a day nobody at the clinic can take: a doctor of another clinic in the township who
is off that day covers it; a gap opens again when its cover duty goes."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from staffing.models import Doctor
from staffing.rosters import selectors
from staffing.rosters.models import GAP_FLOW, CoverageGap, DayKind, DutyDay, RosterAmendment, RosterMonth
from staffing.rosters.services.amendments import amendment_record, describe
from staffing.rosters.services.feeds import feed_duties_changed
from staffing.rosters.services.notices import notify_amended
from staffing.rosters.services.reach import check_can_decide, check_doctor_reach


@transaction.atomic
def gap_assign_cover(*, gap: CoverageGap, doctor: Doctor, acting_user, reason: str = "") -> DutyDay:
    gap = CoverageGap.objects.select_for_update(of=("self",)).select_related("facility", "roster__facility").get(pk=gap.pk)
    check_can_decide(acting_user, gap.facility)
    check_doctor_reach(acting_user, doctor)
    GAP_FLOW.check(gap, CoverageGap.Status.COVERED)
    candidates = {c.doctor.pk: c for c in selectors.cover_candidates([gap]).get(gap.pk, [])}
    if doctor.pk not in candidates:
        raise ValidationError(
            {"doctor": _("%(name)s cannot cover: choose a doctor of another clinic in the same township who is off that day.")
             % {"name": doctor.name}}
        )
    duty = DutyDay(
        roster=gap.roster, facility=gap.facility, doctor=doctor, date=gap.date,
        duty=DutyDay.Duty.DAY if gap.day_kind == DayKind.WORKDAY else DutyDay.Duty.ON_CALL,
        day_kind=gap.day_kind, source=DutyDay.Source.COVER,
    )
    duty.full_clean(validate_constraints=False)
    duty.save()
    feed_duties_changed(added=[duty])
    why = (reason or "").strip() or _("%(doctor)s of %(clinic)s covers") % {"doctor": doctor.name, "clinic": candidates[doctor.pk].facility.name}
    GAP_FLOW.transition(
        gap, to=CoverageGap.Status.COVERED, kind="cover", actor=acting_user, fields={"cover": duty}, reason=why,
        audit_changes={"doctor": doctor.pk}, lock=False,
    )
    amendment_record(roster=gap.roster, day=gap.date, action=RosterAmendment.Action.COVER, before=_("nobody (gap)"),
                     after=describe(duty), reason=why, acting_user=acting_user)
    notify_amended(doctors={doctor}, roster=gap.roster, changes=why)
    return duty


def gaps_reopen_for(*, duty: DutyDay, acting_user, reason: str) -> None:
    """The gaps `duty` covered are open again (the duty is about to go)."""
    GAP_FLOW.bulk_transition(
        CoverageGap.objects.filter(cover=duty), to=CoverageGap.Status.OPEN, kind="reopen", actor=acting_user,
        fields={"cover": None}, reason=reason,
    )


def gap_open(*, roster: RosterMonth, facility_id: int, day: datetime.date, day_kind: str, acting_user, reason: str) -> CoverageGap:
    """The clinic has nobody on `day`: its gap, new or opened again."""
    gap = CoverageGap.objects.select_for_update(of=("self",)).filter(facility_id=facility_id, date=day).first()
    if gap is None:
        return CoverageGap.objects.create(
            roster=roster, facility_id=facility_id, date=day, day_kind=day_kind, status=CoverageGap.Status.OPEN
        )
    if gap.status != CoverageGap.Status.OPEN:
        return GAP_FLOW.transition(
            gap, to=CoverageGap.Status.OPEN, kind="reopen", actor=acting_user,
            fields={"cover": None, "roster": roster, "day_kind": day_kind}, reason=reason, lock=False,
        )
    if (gap.roster_id, gap.day_kind) != (roster.pk, day_kind):
        gap.roster, gap.day_kind = roster, day_kind
        gap.save(update_fields=["roster", "day_kind"])
    return gap
