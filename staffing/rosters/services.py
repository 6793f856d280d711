"""Writes to rosters: generate a month, publish it, leave, swaps and cover for gaps.

Generation loads everything it needs for all clinics in a fixed number of queries (calendar,
clinics, existing rosters, postings, leave, cover duties elsewhere, this year's on-call counts)
and writes the duty rows in bulk (COPY on PostgreSQL), so its query count does not grow with the
number of clinics.
"""

import datetime
import io
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from clinics.models import Facility, Role, Township
from clinics.scoping import user_role
from core.audit import audit_bulk, audit_record
from core.models import AuditEntry
from staffing import services as staffing_services
from staffing.models import Doctor, Posting
from staffing.reach import require_doctor_reach
from staffing.rosters import selectors
from staffing.rosters.bulk import bulk_insert
from staffing.rosters.models import (
    CalendarFeed,
    CoverageGap,
    DayKind,
    DecisionStatus,
    DutyDay,
    LeaveRequest,
    RosterAmendment,
    RosterMonth,
    SwapRequest,
)
from staffing.rosters.selectors import day_kinds, days_between, month_end, month_start

DECIDING_ROLES = (Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN)


# --- Reach checks -------------------------------------------------------------------------------


def check_can_decide(user, facility: Facility) -> None:
    """Only a county admin, or the admin of the clinic's township, decides about its roster.
    `user` None is the system (management commands, seeds)."""
    if user is None:
        return
    role = user_role(user)
    if role == Role.COUNTY_ADMIN:
        return
    if role == Role.TOWNSHIP_ADMIN and user.scope.township_id == facility.township_id:
        return
    raise PermissionDenied(_("Only the county health bureau or this clinic's township admin can do this."))


def _acts_for_self(user, doctor: Doctor) -> bool:
    return user is not None and doctor is not None and getattr(user, "doctor", None) == doctor


def check_doctor_reach(user, doctor: Doctor, *, field: str = "doctor") -> None:
    """A doctor a roster write is about must be in the acting user's reach by the posting in force
    today (a township admin no longer changes the leave or duties of a doctor who moved away). A
    doctor acting on their own record is always in reach."""
    if not _acts_for_self(user, doctor):
        require_doctor_reach(user, doctor, field=field)


def _notify(*, doctor: Doctor, kind: str, about, context: dict, link: str = "") -> None:
    if doctor.user_id is None:
        return
    from notifications.services import notify

    notify(recipient=doctor.user, kind=kind, about=about, context={**context, "mobile": doctor.mobile}, link=link)


def _duty_link() -> str:
    from django.urls import reverse

    return reverse("rosters:my-duty")


def published_duties_guard(*, posting: Posting, end_date: datetime.date) -> None:
    """A posting does not end before the doctor's published duties at its clinic (the roster would
    still name a doctor the clinic no longer has): amend the roster first."""
    last = (
        DutyDay.objects.filter(
            doctor_id=posting.doctor_id, facility_id=posting.facility_id, date__gt=end_date,
            roster__status=RosterMonth.Status.PUBLISHED,
        )
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
    if last is not None:
        raise ValidationError(
            {"end_date": _("The doctor has published duties at this clinic until %(date)s: end the posting after that day, "
                           "or amend the roster first.") % {"date": last}}
        )


staffing_services.register_posting_end_guard(published_duties_guard)


# --- Planning -----------------------------------------------------------------------------------


@dataclass
class Stint:
    """A doctor's posting at a clinic, clipped to the month."""

    doctor_id: int
    start: datetime.date
    end: datetime.date


@dataclass
class ClinicPlan:
    duties: list[tuple[int, datetime.date, str, str]] = field(default_factory=list)  # doctor, date, duty, kind
    gaps: list[tuple[datetime.date, str]] = field(default_factory=list)


def choose_on_call(candidates: list[int], kind: str, counts: dict[int, dict[str, int]], last: dict[int, datetime.date]) -> int:
    """The doctor with the fewest on-call days of this kind (weekend or holiday) this year, then
    fewest of the other kind, then the one on call least recently, then the lowest id: fair and
    deterministic."""
    other = DayKind.HOLIDAY if kind == DayKind.WEEKEND else DayKind.WEEKEND
    return min(
        candidates,
        key=lambda d: (counts[d][kind], counts[d][other], last.get(d, datetime.date.min), d),
    )


def plan_clinic_month(
    *,
    kinds: dict[datetime.date, str],
    stints: list[Stint],
    unavailable: set[tuple[int, datetime.date]],
    counts: dict[int, dict[str, int]],
) -> ClinicPlan:
    """One clinic's month. `counts` (on-call days this year before the month, per doctor and
    kind) is updated as days are planned."""
    plan = ClinicPlan()
    last: dict[int, datetime.date] = {}
    for day, kind in kinds.items():
        available = sorted(
            {s.doctor_id for s in stints if s.start <= day <= s.end and (s.doctor_id, day) not in unavailable}
        )
        if not available:
            plan.gaps.append((day, kind))
        elif kind == DayKind.WORKDAY:
            plan.duties.extend((doctor_id, day, DutyDay.Duty.DAY, kind) for doctor_id in available)
        else:
            doctor_id = choose_on_call(available, kind, counts, last)
            counts[doctor_id][kind] += 1
            last[doctor_id] = day
            plan.duties.append((doctor_id, day, DutyDay.Duty.ON_CALL, kind))
    return plan


@dataclass
class GenerationResult:
    month: datetime.date
    clinics: int = 0
    created: int = 0
    replaced: int = 0
    skipped_published: int = 0
    duties: int = 0
    gaps: int = 0


def clinics_for(*, township: Township | None = None, facility: Facility | None = None, facility_ids=None) -> QuerySet:
    queryset = Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, is_active=True)
    if township is not None:
        queryset = queryset.filter(township=township)
    if facility is not None:
        queryset = queryset.filter(pk=facility.pk)
    if facility_ids is not None:
        queryset = queryset.filter(pk__in=list(facility_ids))
    return queryset


def _check_can_plan(acting_user, *, township, facility, facility_ids) -> None:
    role = user_role(acting_user) if acting_user is not None else Role.COUNTY_ADMIN
    if role == Role.COUNTY_ADMIN:
        return
    if role != Role.TOWNSHIP_ADMIN:
        raise PermissionDenied(_("Only the county health bureau or a township admin can plan rosters."))
    own = acting_user.scope.township_id
    if facility is not None:
        check_can_decide(acting_user, facility)
    elif township is not None and township.pk != own:
        raise PermissionDenied(_("Only the county health bureau or this township's admin can do this."))
    elif facility_ids is not None:
        if Facility.objects.filter(pk__in=list(facility_ids)).exclude(township_id=own).exists():
            raise PermissionDenied(_("Some of these clinics are outside your township."))
    elif township is None:
        raise PermissionDenied(_("Only the county health bureau can plan every clinic at once; choose your township."))


def _unavailable_days(*, doctor_ids_qs, start, end, exclude_rosters=None) -> set[tuple[int, datetime.date]]:
    """(doctor, day) pairs a doctor cannot be planned: approved leave, or a duty at another
    clinic (a cover) outside the rosters being planned."""
    away: set[tuple[int, datetime.date]] = set()
    for leave in selectors.approved_leave(start=start, end=end).filter(doctor_id__in=doctor_ids_qs).only(
        "doctor_id", "start_date", "end_date"
    ):
        away.update((leave.doctor_id, d) for d in days_between(max(leave.start_date, start), min(leave.end_date, end)))
    elsewhere = DutyDay.objects.filter(
        date__gte=start, date__lte=end, source=DutyDay.Source.COVER, doctor_id__in=doctor_ids_qs
    )
    if exclude_rosters is not None:
        elsewhere = elsewhere.exclude(roster_id__in=exclude_rosters)
    away.update(elsewhere.values_list("doctor_id", "date"))
    return away


def _audit_generation(*, acting_user, month, now, roster_ids: dict[int, int], names: dict[int, str]) -> None:
    """One audit row per roster planned, written in one statement."""
    actor_id = acting_user.pk if acting_user is not None and acting_user.is_authenticated else None
    content_type = ContentType.objects.get_for_model(RosterMonth)
    bulk_insert(
        AuditEntry,
        ["at", "actor", "action", "content_type", "object_id", "object_repr", "changes", "reason"],
        [
            (now, actor_id, "roster.generate", content_type.pk, str(pk), f"{names[fid]} {month:%Y-%m}"[:200],
             {"month": month.isoformat()}, "")
            for fid, pk in sorted(roster_ids.items())
        ],
    )


@transaction.atomic
def roster_generate(
    *,
    month: datetime.date,
    township: Township | None = None,
    facility: Facility | None = None,
    facility_ids=None,
    acting_user=None,
) -> GenerationResult:
    """Plan the month for every active village clinic (or one township's, or one clinic).
    A draft month is replaced; a published month is never touched. Raises CalendarMissing when
    the month's year has no holiday calendar."""
    month = month_start(month)
    end = month_end(month)
    _check_can_plan(acting_user, township=township, facility=facility, facility_ids=facility_ids)

    kinds, _entries = day_kinds(start=month, end=end)
    result = GenerationResult(month=month)
    clinic_qs = clinics_for(township=township, facility=facility, facility_ids=facility_ids)
    clinics = dict(clinic_qs.values_list("id", "name"))
    result.clinics = len(clinics)

    existing = dict(RosterMonth.objects.filter(month=month, facility__in=clinic_qs).values_list("facility_id", "status"))
    result.skipped_published = sum(1 for status in existing.values() if status == RosterMonth.Status.PUBLISHED)
    drafts = RosterMonth.objects.filter(month=month, facility__in=clinic_qs, status=RosterMonth.Status.DRAFT)
    CoverageGap.objects.filter(roster__in=drafts).delete()
    DutyDay.objects.filter(roster__in=drafts).delete()
    now = timezone.now()
    result.replaced = drafts.update(generated_at=now)
    new_facilities = [fid for fid in clinics if fid not in existing]
    result.created = bulk_insert(
        RosterMonth,
        ["facility", "month", "status", "generated_at"],
        [(fid, month, RosterMonth.Status.DRAFT, now) for fid in new_facilities],
    )
    roster_ids = {
        fid: pk
        for fid, pk in RosterMonth.objects.filter(month=month, facility__in=clinic_qs, status=RosterMonth.Status.DRAFT)
        .values_list("facility_id", "id")
    }

    postings = (
        Posting.objects.filter(facility__in=clinic_qs, start_date__lte=end, doctor__status=Doctor.Status.ACTIVE)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=month))
    )
    stints: dict[int, list[Stint]] = defaultdict(list)
    for doctor_id, facility_id, start_date, end_date in postings.values_list("doctor_id", "facility_id", "start_date", "end_date"):
        stints[facility_id].append(Stint(doctor_id, max(start_date, month), min(end_date or end, end)))
    unavailable = _unavailable_days(
        doctor_ids_qs=postings.values("doctor_id"), start=month, end=end, exclude_rosters=drafts.values("pk")
    )
    counts = selectors.oncall_counts(year=month.year, before=month, facility_ids=clinic_qs)

    duty_rows = []
    gap_rows = []
    for facility_id in sorted(roster_ids):
        clinic_counts = defaultdict(lambda: {DayKind.WEEKEND: 0, DayKind.HOLIDAY: 0})
        for stint in stints.get(facility_id, []):
            clinic_counts[stint.doctor_id] = dict(counts.get((facility_id, stint.doctor_id), clinic_counts[stint.doctor_id]))
        plan = plan_clinic_month(kinds=kinds, stints=stints.get(facility_id, []), unavailable=unavailable, counts=clinic_counts)
        roster_id = roster_ids[facility_id]
        duty_rows.extend(
            (roster_id, facility_id, doctor_id, day, duty, kind, DutyDay.Source.GENERATED)
            for doctor_id, day, duty, kind in plan.duties
        )
        gap_rows.extend((roster_id, facility_id, day, kind, CoverageGap.Status.OPEN) for day, kind in plan.gaps)
    bulk_insert(DutyDay, ["roster", "facility", "doctor", "date", "duty", "day_kind", "source"], duty_rows)
    bulk_insert(CoverageGap, ["roster", "facility", "date", "day_kind", "status"], gap_rows)
    result.duties = len(duty_rows)
    result.gaps = len(gap_rows)
    _audit_generation(
        acting_user=acting_user, month=month, now=now, roster_ids=roster_ids, names=clinics
    )
    return result


# --- Publishing ---------------------------------------------------------------------------------


@transaction.atomic
def roster_publish(*, month: datetime.date, township: Township | None = None, acting_user) -> int:
    """Lock the month's draft rosters of a township (or the whole county) and notify the doctors.
    Returns how many rosters were published."""
    month = month_start(month)
    role = user_role(acting_user) if acting_user is not None else Role.COUNTY_ADMIN
    if township is None and role != Role.COUNTY_ADMIN:
        raise PermissionDenied(_("Only the county health bureau can publish the whole county; choose your township."))
    if township is not None and role != Role.COUNTY_ADMIN:
        if role != Role.TOWNSHIP_ADMIN or acting_user.scope.township_id != township.pk:
            raise PermissionDenied(_("Only the county health bureau or this township's admin can do this."))
    rosters = RosterMonth.objects.filter(month=month, status=RosterMonth.Status.DRAFT).select_for_update()
    if township is not None:
        rosters = rosters.filter(facility__township=township)
    rosters = list(rosters.select_related("facility"))
    if not rosters:
        raise ValidationError(
            _("There is no draft roster for %(month)s to publish: generate the month first.") % {"month": f"{month:%Y-%m}"}
        )
    now = timezone.now()
    published_by = acting_user if acting_user is not None and acting_user.is_authenticated else None
    RosterMonth.objects.filter(pk__in=[r.pk for r in rosters]).update(
        status=RosterMonth.Status.PUBLISHED, published_at=now, published_by=published_by
    )
    audit_bulk(actor=acting_user, action="roster.publish", targets=rosters, changes={"month": month.isoformat()})
    by_pk = {r.pk: r for r in rosters}
    doctors = (
        DutyDay.objects.filter(roster_id__in=by_pk)
        .values_list("roster_id", "doctor_id")
        .distinct()
        .order_by("roster_id", "doctor_id")
    )
    pairs = list(doctors)
    people = Doctor.objects.filter(pk__in={d for _r, d in pairs}, user__isnull=False).select_related("user").in_bulk()
    link = _duty_link()
    for roster_id, doctor_id in pairs:
        doctor = people.get(doctor_id)
        if doctor is not None:
            roster = by_pk[roster_id]
            _notify(
                doctor=doctor,
                kind="roster_published",
                about=roster,
                context={"facility_name": roster.facility.name, "month": f"{month:%Y-%m}"},
                link=link,
            )
    return len(rosters)


# --- Amendments ---------------------------------------------------------------------------------


def _describe(duty: DutyDay | None) -> str:
    if duty is None:
        return _("nobody (gap)")
    return f"{duty.doctor.name} · {duty.get_duty_display()}"


def _amend(*, roster: RosterMonth, day, action, before, after, reason, acting_user) -> None:
    if roster.is_published:
        RosterAmendment.objects.create(
            roster=roster,
            date=day,
            action=action,
            before=before[:200],
            after=after[:200],
            reason=reason,
            by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
        )
        audit_record(actor=acting_user, action=f"roster.amend.{action}", target=roster,
                     changes={"date": day, "before": before[:200], "after": after[:200]}, reason=reason)


def _notify_amended(*, doctors: set[Doctor], roster: RosterMonth, changes: str) -> None:
    if not roster.is_published:
        return
    for doctor in sorted(doctors, key=lambda d: d.pk):
        _notify(
            doctor=doctor,
            kind="roster_amended",
            about=roster,
            context={"facility_name": roster.facility.name, "month": f"{roster.month:%Y-%m}", "changes": changes},
            link=_duty_link(),
        )


def _record_decision(request, *, approve: bool, note: str, acting_user, action: str) -> None:
    request.status = DecisionStatus.APPROVED if approve else DecisionStatus.REJECTED
    request.decided_by = acting_user
    request.decided_at = timezone.now()
    request.decision_note = (note or "").strip()[:200]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(actor=acting_user, action=action, target=request, changes={"status": request.status}, reason=request.decision_note)


# --- Leave --------------------------------------------------------------------------------------


def _posting_on(doctor: Doctor, day: datetime.date) -> Posting | None:
    return (
        Posting.objects.filter(doctor=doctor, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=day))
        .select_related("facility")
        .first()
    )


@transaction.atomic
def leave_request_create(
    *, doctor: Doctor, kind: str, start_date: datetime.date, end_date: datetime.date, reason: str, acting_user
) -> LeaveRequest:
    posting = _posting_on(doctor, start_date)
    if posting is None:
        raise ValidationError({"start_date": _("The doctor is not posted to a clinic on the first day of the leave.")})
    if acting_user is not None and getattr(acting_user, "doctor", None) != doctor:
        check_can_decide(acting_user, posting.facility)
    check_doctor_reach(acting_user, doctor)
    leave = LeaveRequest(
        doctor=doctor,
        facility=posting.facility,
        kind=kind,
        start_date=start_date,
        end_date=end_date,
        reason=(reason or "").strip(),
        requested_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    leave.full_clean()
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
    leave.save()
    audit_record(
        actor=acting_user, action="leave.request", target=leave,
        changes={"kind": kind, "start_date": start_date, "end_date": end_date}, reason=leave.reason,
    )
    return leave


@dataclass
class LeaveChange:
    duty: DutyDay  # the duty the doctor on leave loses
    replacement_doctor: Doctor | None  # who takes an on-call day instead
    gap: bool  # the clinic is left with nobody that day


def leave_plan(leave: LeaveRequest) -> list[LeaveChange]:
    """What approving `leave` does to planned rosters: each of the doctor's duties in the leave
    goes; an on-call day passes to an available colleague (fewest on-call days of that kind this
    year), otherwise it becomes a gap; a workday with no-one left on day duty becomes a gap. Other
    doctors' days are not moved. A fixed number of queries."""
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
    busy: dict[tuple[int, datetime.date], str] = {
        (doctor_id, day): duty
        for doctor_id, day, duty in DutyDay.objects.filter(
            doctor_id__in=others, date__gte=start, date__lte=end
        ).values_list("doctor_id", "date", "duty")
    }
    day_staff: dict[tuple[int, datetime.date], int] = defaultdict(int)
    for facility_id, day in DutyDay.objects.filter(
        facility_id__in=facility_ids, date__gte=start, date__lte=end, duty=DutyDay.Duty.DAY
    ).exclude(doctor=leave.doctor).values_list("facility_id", "date"):
        day_staff[(facility_id, day)] += 1
    away = set()
    for doctor_id, by_kind in selectors.leave_days(doctor_ids=others, start=start, end=end).items():
        for days in by_kind.values():
            away.update((doctor_id, d) for d in days)
    counts = selectors.oncall_counts(year=start.year, before=datetime.date(end.year + 1, 1, 1), facility_ids=facility_ids)
    changes = []
    for duty in duties:
        if duty.duty == DutyDay.Duty.DAY:
            changes.append(LeaveChange(duty=duty, replacement_doctor=None, gap=day_staff[(duty.facility_id, duty.date)] == 0))
            continue
        candidates = [
            p.doctor
            for p in postings
            if p.facility_id == duty.facility_id
            and p.covers(duty.date)
            and (p.doctor_id, duty.date) not in busy
            and (p.doctor_id, duty.date) not in away
        ]
        if candidates:
            chosen = min(
                candidates,
                key=lambda d: (counts.get((duty.facility_id, d.pk), {}).get(duty.day_kind, 0), d.pk),
            )
            busy[(chosen.pk, duty.date)] = duty.duty
            key = (duty.facility_id, chosen.pk)
            counts.setdefault(key, {DayKind.WEEKEND: 0, DayKind.HOLIDAY: 0})[duty.day_kind] += 1
            changes.append(LeaveChange(duty=duty, replacement_doctor=chosen, gap=False))
        else:
            changes.append(LeaveChange(duty=duty, replacement_doctor=None, gap=True))
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
        before = _describe(duty)
        if duty.source == DutyDay.Source.COVER:
            CoverageGap.objects.filter(cover=duty).update(status=CoverageGap.Status.OPEN, cover=None)
        day, facility_id, kind, duty_type = duty.date, duty.facility_id, duty.day_kind, duty.duty
        duty.delete()
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
            after = _describe(new)
            notified.add(change.replacement_doctor)
        elif change.gap:
            CoverageGap.objects.update_or_create(
                facility_id=facility_id, date=day,
                defaults={"roster": roster, "day_kind": kind, "status": CoverageGap.Status.OPEN, "cover": None},
            )
            after = _("nobody (gap)")
        _amend(roster=roster, day=day, action=RosterAmendment.Action.LEAVE, before=before, after=after,
               reason=reason, acting_user=acting_user)
    for roster, doctors in touched.values():
        _notify_amended(doctors=doctors, roster=roster, changes=reason)


@transaction.atomic
def leave_decide(*, leave: LeaveRequest, approve: bool, acting_user, note: str = "") -> LeaveRequest:
    leave = LeaveRequest.objects.select_for_update().select_related("doctor", "facility").get(pk=leave.pk)
    check_can_decide(acting_user, leave.facility)
    check_doctor_reach(acting_user, leave.doctor)
    if leave.status != DecisionStatus.PENDING:
        raise ValidationError(_("This request was already decided (%(status)s).") % {"status": leave.get_status_display()})
    # Planning a month needs its calendar; fail before changing anything.
    selectors.require_years(range(leave.start_date.year, leave.end_date.year + 1))
    _record_decision(leave, approve=approve, note=note, acting_user=acting_user, action="leave.decide")
    if approve:
        _apply_leave(leave=leave, acting_user=acting_user)
    _notify(
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
        link=_duty_link(),
    )
    return leave


@transaction.atomic
def leave_cancel(*, leave: LeaveRequest, acting_user) -> LeaveRequest:
    """A doctor withdraws a pending request."""
    if leave.status != DecisionStatus.PENDING:
        raise ValidationError(_("Only a pending request can be withdrawn."))
    if getattr(acting_user, "doctor", None) != leave.doctor:
        check_can_decide(acting_user, leave.facility)
        check_doctor_reach(acting_user, leave.doctor)
    leave.status = DecisionStatus.CANCELLED
    leave.save(update_fields=["status"])
    audit_record(actor=acting_user, action="leave.cancel", target=leave)
    return leave


# --- Swaps --------------------------------------------------------------------------------------


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
    posting = _posting_on(counterpart, give_date)
    if posting is None or posting.facility_id != give.facility_id:
        raise ValidationError({"counterpart": _("A swap is only between the doctors of the same clinic.")})
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
    if acting_user is not None and getattr(acting_user, "doctor", None) != requester:
        check_can_decide(acting_user, give.roster.facility)
    swap = SwapRequest(
        facility_id=give.facility_id, requester=requester, counterpart=counterpart, give_date=give_date,
        take_date=take_date, reason=(reason or "").strip(),
        requested_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    swap.full_clean()
    swap.save()
    audit_record(actor=acting_user, action="swap.request", target=swap,
                 changes={"give_date": give_date, "take_date": take_date, "counterpart": counterpart.pk}, reason=swap.reason)
    return swap


@transaction.atomic
def swap_decide(*, swap: SwapRequest, approve: bool, acting_user, note: str = "") -> SwapRequest:
    swap = SwapRequest.objects.select_for_update().select_related("requester", "counterpart", "facility").get(pk=swap.pk)
    check_can_decide(acting_user, swap.facility)
    check_doctor_reach(acting_user, swap.requester, field="requester")
    check_doctor_reach(acting_user, swap.counterpart, field="counterpart")
    if swap.status != DecisionStatus.PENDING:
        raise ValidationError(_("This request was already decided (%(status)s).") % {"status": swap.get_status_display()})
    if approve:
        give, take = _check_swap(
            requester=swap.requester, counterpart=swap.counterpart, give_date=swap.give_date, take_date=swap.take_date
        )
        reason = _("swap between %(a)s and %(b)s: %(why)s") % {"a": swap.requester.name, "b": swap.counterpart.name, "why": swap.reason}
        for duty, new_doctor in ((give, swap.counterpart), (take, swap.requester)):
            if duty is None:
                continue
            before = _describe(duty)
            duty.doctor = new_doctor
            duty.source = DutyDay.Source.SWAP
            duty.save(update_fields=["doctor", "source"])
            _amend(roster=duty.roster, day=duty.date, action=RosterAmendment.Action.SWAP, before=before,
                   after=_describe(duty), reason=reason, acting_user=acting_user)
        _notify_amended(doctors={swap.requester, swap.counterpart}, roster=give.roster, changes=reason)
    _record_decision(swap, approve=approve, note=note, acting_user=acting_user, action="swap.decide")
    for doctor, other in ((swap.requester, swap.counterpart), (swap.counterpart, swap.requester)):
        _notify(
            doctor=doctor,
            kind="swap_decided",
            about=swap,
            context={
                "other_doctor": other.name,
                "start": swap.give_date.isoformat(),
                "decision": pgettext("decision", "approved") if approve else pgettext("decision", "rejected"),
                "note": swap.decision_note,
            },
            link=_duty_link(),
        )
    return swap


# --- Cover for gaps -----------------------------------------------------------------------------


@transaction.atomic
def gap_assign_cover(*, gap: CoverageGap, doctor: Doctor, acting_user, reason: str = "") -> DutyDay:
    gap = CoverageGap.objects.select_for_update().select_related("facility", "roster__facility").get(pk=gap.pk)
    check_can_decide(acting_user, gap.facility)
    check_doctor_reach(acting_user, doctor)
    if gap.status != CoverageGap.Status.OPEN:
        raise ValidationError(_("This gap is already covered."))
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
    gap.status = CoverageGap.Status.COVERED
    gap.cover = duty
    gap.save(update_fields=["status", "cover"])
    why = (reason or "").strip() or _("%(doctor)s of %(clinic)s covers") % {"doctor": doctor.name, "clinic": candidates[doctor.pk].facility.name}
    audit_record(actor=acting_user, action="gap.cover", target=gap, changes={"doctor": doctor.pk}, reason=why)
    _amend(roster=gap.roster, day=gap.date, action=RosterAmendment.Action.COVER, before=_("nobody (gap)"),
           after=_describe(duty), reason=why, acting_user=acting_user)
    _notify_amended(doctors={doctor}, roster=gap.roster, changes=why)
    return duty


# --- Calendar feed ------------------------------------------------------------------------------


def calendar_feed_get_or_create(*, doctor: Doctor) -> CalendarFeed:
    feed, _created = CalendarFeed.objects.get_or_create(doctor=doctor)
    return feed


@transaction.atomic
def calendar_feed_reset(*, doctor: Doctor, acting_user) -> CalendarFeed:
    """A new address; the old one stops working."""
    check_doctor_reach(acting_user, doctor)
    CalendarFeed.objects.filter(doctor=doctor).delete()
    feed = CalendarFeed.objects.create(doctor=doctor)
    audit_record(actor=acting_user, action="calendar_feed.reset", target=feed)
    return feed


def ical_bytes(*, doctor: Doctor, duties, holidays: dict) -> bytes:
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Cunyi//Duty roster//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", _("Duty: %(name)s") % {"name": doctor.name})
    cal.add("x-wr-timezone", "Asia/Shanghai")
    stamp = timezone.now()
    for duty in duties:
        event = Event()
        event.add("uid", f"duty-{duty.pk}@cunyi")
        event.add("dtstamp", stamp)
        event.add("dtstart", duty.date)
        event.add("dtend", duty.date + datetime.timedelta(days=1))
        title = _("On call") if duty.duty == DutyDay.Duty.ON_CALL else _("Day duty")
        entry = holidays.get(duty.date)
        if entry is not None and entry.is_holiday:
            title = f"{title} · {entry.name}"
        event.add("summary", f"{title} · {duty.facility.name}")
        event.add("description", duty.facility.opening_hours_display)
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    buffer = io.BytesIO(cal.to_ical())
    return buffer.getvalue()
