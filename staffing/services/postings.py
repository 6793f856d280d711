"""Postings: which clinic a doctor works at, when. Opening, closing and moving one; a transfer
between townships is the county's. Apps above the register register what an end date may not cut
off (register_posting_end_guard). The doctor's login follows the posting in force
(staffing.services.logins)."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from clinics.models import Facility
from clinics.scoping import is_county_wide, require_county_wide, require_facility_reach
from core.audit import audit_record
from staffing.models import Doctor, Posting
from staffing.reach import governing_posting, in_force_on, require_doctor_reach
from staffing.services.logins import doctor_login_follow_posting


def _check_overlap(*, doctor, start_date, end_date, exclude_pk=None, field: str = "start_date") -> None:
    overlapping = Posting.objects.filter(doctor=doctor).exclude(pk=exclude_pk)
    overlapping = overlapping.exclude(end_date__lt=start_date)
    if end_date is not None:
        overlapping = overlapping.exclude(start_date__gt=end_date)
    clash = overlapping.select_related("facility").first()
    if clash:
        raise ValidationError(
            {
                field: _(
                    "This doctor is already posted to %(facility)s from %(start)s; "
                    "end that posting first or move the doctor."
                )
                % {"facility": clash.facility.name, "start": clash.start_date}
            }
        )

def _require_same_township(acting_user, *, doctor: Doctor, facility: Facility, leaving: Posting | None = None) -> None:
    """A transfer between townships is a county action: the township of the doctor's posting in
    force (or upcoming), and of the posting a move closes, must be the new clinic's township."""
    if acting_user is None or is_county_wide(acting_user):
        return
    townships = {leaving.facility.township_id} if leaving is not None else set()
    placed = governing_posting(doctor)
    if placed is not None:
        townships.add(placed.facility.township_id)
    if townships - {facility.township_id}:
        require_county_wide(acting_user, what=_("Moving a doctor to another township"))

def posting_insert(*, doctor: Doctor, facility: Facility, start_date: datetime.date, end_date, acting_user) -> Posting:
    """Open a posting, audited; the caller has checked reach (doctor_create, posting_move)."""
    if start_date < doctor.hire_date:
        raise ValidationError({"start_date": _("A posting cannot start before the doctor's hire date.")})
    _check_overlap(doctor=doctor, start_date=start_date, end_date=end_date)
    posting = Posting(doctor=doctor, facility=facility, start_date=start_date, end_date=end_date)
    posting.full_clean()
    try:
        with transaction.atomic():
            posting.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"doctor": _("This doctor already has an open posting; close it or move the doctor.")}
        ) from exc
    audit_record(
        actor=acting_user,
        action="posting.open",
        target=posting,
        changes={"facility": facility.code, "start_date": start_date, "end_date": end_date},
    )
    doctor_login_follow_posting(doctor, acting_user=acting_user)
    return posting

# Apps above the register (rosters…) register what ending a posting may not cut off, so an end
# date is never back-dated over facts recorded at the clinic after it (published duties).
_POSTING_END_GUARDS: list = []


def register_posting_end_guard(guard) -> None:
    """`guard(*, posting, end_date)` raises ValidationError({"end_date": ...}) when ending
    `posting` on `end_date` would leave facts of its clinic after that day without the doctor."""
    if guard not in _POSTING_END_GUARDS:
        _POSTING_END_GUARDS.append(guard)

def posting_close_check(*, posting: Posting, end_date: datetime.date, acting_user=None) -> None:
    """Refuse an end date that cannot be set, with the friendly message (the admin form calls it
    before saving, `posting_close` again in its transaction). A posting is changed only by whom
    reaches both its clinic and its doctor; a later end date may not run into another posting."""
    require_facility_reach(acting_user, posting.facility, field=None)
    require_doctor_reach(acting_user, posting.doctor, field=None)
    if end_date < posting.start_date:
        raise ValidationError({"end_date": _("A posting cannot end before it starts.")})
    _check_overlap(
        doctor=posting.doctor_id, start_date=posting.start_date, end_date=end_date, exclude_pk=posting.pk, field="end_date"
    )
    stored_end = Posting.objects.filter(pk=posting.pk).values_list("end_date", flat=True).first()
    if stored_end is None or end_date < stored_end:
        for guard in _POSTING_END_GUARDS:
            guard(posting=posting, end_date=end_date)

def _posting_close(*, posting: Posting, end_date: datetime.date, acting_user) -> Posting:
    # The stored end date, not `posting`'s: an admin form has already set the new one on it.
    before = Posting.objects.select_for_update().filter(pk=posting.pk).values_list("end_date", flat=True).get()
    posting.end_date = end_date
    posting.full_clean()
    posting.save(update_fields=["end_date"])
    audit_record(actor=acting_user, action="posting.close", target=posting, changes={"end_date": [before, end_date]})
    # The close can leave another posting the one in force (the login follows it).
    doctor_login_follow_posting(posting.doctor, acting_user=acting_user)
    return posting

@transaction.atomic
def posting_close(*, posting: Posting, end_date: datetime.date, acting_user) -> Posting:
    """End a posting. Its clinic does not change, so the check before is also the one after."""
    posting_close_check(posting=posting, end_date=end_date, acting_user=acting_user)
    return _posting_close(posting=posting, end_date=end_date, acting_user=acting_user)

OVER_TARGET = "over_target"


def posting_over_target_check(*, doctor: Doctor, facility: Facility, start_date: datetime.date) -> None:
    """Refuse (code "over_target") a posting that would put more active doctors at `facility` on
    `start_date` than its target: the roster then puts all of them on every workday. The caller
    passes confirm_over_target=True once the admin has confirmed."""
    posted = (
        Posting.objects.filter(in_force_on(start_date), facility_id=facility.pk, doctor__status=Doctor.Status.ACTIVE)
        .exclude(doctor_id=doctor.pk)
        .values("doctor_id")
        .distinct()
        .count()
    )
    if posted >= facility.target_doctors:
        raise ValidationError(
            {"facility": ValidationError(
                _(
                    "%(clinic)s already has %(posted)s doctors, target %(target)s; posting another will put "
                    "%(after)s on every workday. Tick the confirmation to post the doctor anyway."
                ) % {"clinic": facility.name, "posted": posted, "target": facility.target_doctors, "after": posted + 1},
                code=OVER_TARGET,
            )}
        )

def posting_move_check(
    *, doctor: Doctor, facility: Facility, start_date: datetime.date, acting_user=None, confirm_over_target: bool = False
) -> Posting | None:
    """Refuse a move that cannot be made, with the friendly message; returns the open posting it
    would close. The admin form calls it before saving, `posting_move` again under the row lock.
    Reach first, so a doctor or clinic outside it tells nothing about its postings. A move beyond
    the clinic's target is refused unless `confirm_over_target`."""
    require_doctor_reach(acting_user, doctor)
    require_facility_reach(acting_user, facility)
    if start_date < doctor.hire_date:
        raise ValidationError({"start_date": _("A posting cannot start before the doctor's hire date.")})
    current = Posting.objects.filter(doctor=doctor, end_date__isnull=True).select_related("facility").first()
    if current is not None:
        require_facility_reach(acting_user, current.facility, field=None)
    _require_same_township(acting_user, doctor=doctor, facility=facility, leaving=current)
    if current is not None:
        if current.facility_id == facility.pk:
            raise ValidationError({"facility": _("The doctor already works at this facility.")})
        if start_date <= current.start_date:
            raise ValidationError(
                {"start_date": _("The move must start after the current posting's start date (%(date)s).")
                 % {"date": current.start_date}}
            )
    _check_overlap(doctor=doctor, start_date=start_date, end_date=None, exclude_pk=getattr(current, "pk", None))
    if not confirm_over_target:
        posting_over_target_check(doctor=doctor, facility=facility, start_date=start_date)
    return current

@transaction.atomic
def posting_move(
    *, doctor: Doctor, facility: Facility, start_date: datetime.date, acting_user, confirm_over_target: bool = False
) -> Posting:
    """Close the doctor's open posting the day before `start_date` and open one at `facility`.
    Within a township the township admin may; between townships only the county."""
    Posting.objects.select_for_update().filter(doctor=doctor, end_date__isnull=True).first()
    Facility.objects.select_for_update().filter(pk=facility.pk).first()  # two moves to one clinic count in turn
    current = posting_move_check(
        doctor=doctor, facility=facility, start_date=start_date, acting_user=acting_user,
        confirm_over_target=confirm_over_target,
    )
    if current is not None:
        _posting_close(posting=current, end_date=start_date - datetime.timedelta(days=1), acting_user=acting_user)
    posting = posting_insert(doctor=doctor, facility=facility, start_date=start_date, end_date=None, acting_user=acting_user)
    require_doctor_reach(acting_user, doctor)
    return posting
