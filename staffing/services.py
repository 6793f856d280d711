"""Writes to the doctor register. Each service validates, saves in one transaction and audits.

Reach is checked before and after every change (clinics.scoping, staffing.reach): a township admin
changes only the doctors whose posting in force is in the township, posts them only to its clinics,
and a transfer between townships is the county's."""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Facility, Role, UserScope
from clinics.roles import role_assign
from clinics.scoping import (
    OUT_OF_REACH,
    facility_in_reach,
    is_county_wide,
    require_county_wide,
    require_facility_reach,
)
from core.audit import audit_record, changed_fields, snapshot
from staffing import bank_accounts
from staffing.models import Doctor, Posting
from staffing.reach import governing_posting, in_force_on, require_doctor_reach

DOCTOR_FIELDS = [
    "name",
    "sex",
    "birth_date",
    "id_number",
    "mobile",
    "wecom_userid",
    "qualification",
    "licence_number",
    "licence_expiry",
    "insurance_code",
    "status",
    "hire_date",
    "exit_date",
    "bank_name",
    "bank_account",
]
AUDITED_DOCTOR_FIELDS = [f for f in DOCTOR_FIELDS if f not in {"id_number", "bank_account"}]


@transaction.atomic
def doctor_create(*, acting_user, facility: Facility | None = None, **data) -> Doctor:
    """Register a doctor, posted to `facility` from the hire date. A doctor with no clinic is in
    nobody's reach but the county's, so only a county-wide role registers one."""
    if facility is None:
        require_county_wide(acting_user, what=_("Registering a doctor without a clinic"))
    else:
        require_facility_reach(acting_user, facility)
    doctor = Doctor(**data)
    doctor.full_clean()
    doctor.save()
    audit_record(actor=acting_user, action="doctor.create", target=doctor, changes=snapshot(doctor, AUDITED_DOCTOR_FIELDS))
    if facility is not None:
        _posting_open(doctor=doctor, facility=facility, start_date=doctor.hire_date, end_date=None, acting_user=acting_user)
        require_doctor_reach(acting_user, doctor)
    return doctor


@transaction.atomic
def doctor_update(*, doctor: Doctor, acting_user, **data) -> Doctor:
    # Reach by the stored postings (the doctor's fields do not move reach; an exit date closes the
    # posting through posting_close, which checks its clinic).
    require_doctor_reach(acting_user, doctor)
    # The stored row, not `doctor`: an admin form has already set its cleaned values on the instance.
    before = snapshot(Doctor.objects.select_for_update().get(pk=doctor.pk), DOCTOR_FIELDS)
    for key, value in data.items():
        if key not in DOCTOR_FIELDS:
            raise ValueError(f"unknown doctor field {key}")
        setattr(doctor, key, value)
    doctor.full_clean()
    doctor.save()
    changes = changed_fields(before, snapshot(doctor, DOCTOR_FIELDS))
    # The ID number is audited as "changed", never with its value; the bank account masked on
    # both sides, and its change audited on its own and told to the doctor (staffing.bank_accounts).
    if "id_number" in changes:
        changes["id_number"] = ["***", "***"]
    changes = bank_accounts.mask_bank_changes(changes)
    if changes:
        audit_record(actor=acting_user, action="doctor.update", target=doctor, changes=changes)
    bank_accounts.bank_account_change_record(doctor=doctor, before=before, acting_user=acting_user)
    if doctor.exit_date:
        open_posting = doctor.postings.filter(end_date__isnull=True).first()
        if open_posting and open_posting.start_date <= doctor.exit_date:
            posting_close(posting=open_posting, end_date=doctor.exit_date, acting_user=acting_user)
    return doctor


def doctor_link_user_check(*, doctor: Doctor | None, user, acting_user=None) -> None:
    """Refuse a login that cannot be the doctor's, with the friendly message (the admin form calls
    it before saving, `doctor_link_user` again in its transaction). The doctor must be in reach
    (`doctor=None`: one about to be registered, whose clinic is checked by doctor_create); the login
    must be a village doctor's account in reach, not already another doctor's. None unlinks."""
    if doctor is not None and doctor.pk is not None:
        require_doctor_reach(acting_user, doctor, field=None)
    if user is None:
        return
    scope = UserScope.objects.filter(user_id=user.pk).select_related("facility").first()
    if scope is None or scope.role != Role.VILLAGE_DOCTOR:
        raise ValidationError(
            {"user": _("Choose a village doctor's account: the login of a doctor's pages cannot be an admin's or a consultant's account.")}
        )
    if acting_user is not None and not (scope.facility is not None and facility_in_reach(acting_user, scope.facility)):
        raise ValidationError(
            {"user": ValidationError(
                _("This account is outside your reach; choose an account of your own clinics or ask the county health bureau."),
                code=OUT_OF_REACH,
            )}
        )
    other = Doctor.objects.filter(user_id=user.pk)
    if doctor is not None and doctor.pk is not None:
        other = other.exclude(pk=doctor.pk)
    if other.exists():
        raise ValidationError(
            {"user": _("This account is already another doctor's login; unlink it there first or choose another account.")}
        )


@transaction.atomic
def doctor_link_user(*, doctor: Doctor, user, acting_user) -> Doctor:
    """Make `user` (a village doctor's account, or None) the doctor's login, audited with the old
    and new username. The login's reach then follows the posting in force (`_sync_login`)."""
    locked = Doctor.objects.select_for_update(of=("self",)).select_related("user").get(pk=doctor.pk)
    doctor.user = user
    if locked.user_id == (user.pk if user is not None else None):
        return doctor
    doctor_link_user_check(doctor=locked, user=user, acting_user=acting_user)
    old_username = locked.user.get_username() if locked.user_id else None
    new_username = user.get_username() if user is not None else None
    doctor.save(update_fields=["user"])
    audit_record(actor=acting_user, action="doctor.link_user", target=doctor, changes={"user": [old_username, new_username]})
    _sync_login(doctor, acting_user=acting_user)
    require_doctor_reach(acting_user, doctor, field=None)
    return doctor


@transaction.atomic
def doctor_mark_demo(*, doctor: Doctor, is_demo: bool, acting_user) -> Doctor:
    """Mark a doctor in reach as demo data (their pay documents say so), audited."""
    require_doctor_reach(acting_user, doctor, field=None)
    before = Doctor.objects.select_for_update().values_list("is_demo", flat=True).get(pk=doctor.pk)
    doctor.is_demo = bool(is_demo)
    if before == doctor.is_demo:
        return doctor
    doctor.save(update_fields=["is_demo"])
    audit_record(actor=acting_user, action="doctor.update", target=doctor, changes={"is_demo": [before, doctor.is_demo]})
    return doctor


def _sync_login(doctor: Doctor, *, today: datetime.date | None = None, acting_user=None) -> bool:
    """A village doctor's login reaches the clinic of the posting in force today. A posting that
    starts later moves it on its start date (the daily task `staffing.sync_doctor_logins`); with no
    posting in force the login keeps its clinic. Audited by role_assign; True when it moved."""
    if doctor.user_id is None:
        return False
    today = today or timezone.localdate()
    posting = (
        Posting.objects.filter(in_force_on(today), doctor_id=doctor.pk).select_related("facility__township").first()
    )
    if posting is None:
        return False
    facility = posting.facility
    scope = UserScope.objects.filter(user_id=doctor.user_id).first()
    if scope is not None and scope.role != Role.VILLAGE_DOCTOR:
        return False  # a doctor who is also an admin or consultant keeps that login's reach
    if scope is not None and scope.facility_id == facility.pk and scope.township_id == facility.township_id:
        return False
    user = get_user_model().objects.get(pk=doctor.user_id)
    role_assign(user=user, role=Role.VILLAGE_DOCTOR, facility=facility, township=facility.township, acting_user=acting_user)
    return True


@transaction.atomic
def doctor_logins_sync(*, today: datetime.date) -> int:
    """Move every village doctor's login whose clinic differs from the posting in force `today`
    (a posting that started today, or one whose move was recorded in advance). Idempotent; each
    move is audited with the system as the actor. Returns how many logins moved."""
    in_force = Posting.objects.filter(in_force_on(today), doctor=OuterRef("pk")).order_by("-start_date")
    stale = (
        Doctor.objects.filter(user__isnull=False)
        .annotate(
            posted_facility=Subquery(in_force.values("facility_id")[:1]),
            posted_township=Subquery(in_force.values("facility__township_id")[:1]),
        )
        .filter(posted_facility__isnull=False)
        .filter(
            Q(user__scope__isnull=True)
            | Q(user__scope__role=Role.VILLAGE_DOCTOR)
            & (
                ~Q(user__scope__facility_id=F("posted_facility"))
                | ~Q(user__scope__township_id=F("posted_township"))
                | Q(user__scope__township_id__isnull=True)
            )
        )
        .order_by("pk")
    )
    return sum(1 for doctor in stale if _sync_login(doctor, today=today))


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


def _posting_open(*, doctor: Doctor, facility: Facility, start_date: datetime.date, end_date, acting_user) -> Posting:
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
    _sync_login(doctor, acting_user=acting_user)
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
    _sync_login(posting.doctor, acting_user=acting_user)
    return posting


@transaction.atomic
def posting_close(*, posting: Posting, end_date: datetime.date, acting_user) -> Posting:
    """End a posting. Its clinic does not change, so the check before is also the one after."""
    posting_close_check(posting=posting, end_date=end_date, acting_user=acting_user)
    return _posting_close(posting=posting, end_date=end_date, acting_user=acting_user)


def posting_move_check(*, doctor: Doctor, facility: Facility, start_date: datetime.date, acting_user=None) -> Posting | None:
    """Refuse a move that cannot be made, with the friendly message; returns the open posting it
    would close. The admin form calls it before saving, `posting_move` again under the row lock.
    Reach first, so a doctor or clinic outside it tells nothing about its postings."""
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
    return current


@transaction.atomic
def posting_move(*, doctor: Doctor, facility: Facility, start_date: datetime.date, acting_user) -> Posting:
    """Close the doctor's open posting the day before `start_date` and open one at `facility`.
    Within a township the township admin may; between townships only the county."""
    Posting.objects.select_for_update().filter(doctor=doctor, end_date__isnull=True).first()
    current = posting_move_check(doctor=doctor, facility=facility, start_date=start_date, acting_user=acting_user)
    if current is not None:
        _posting_close(posting=current, end_date=start_date - datetime.timedelta(days=1), acting_user=acting_user)
    posting = _posting_open(doctor=doctor, facility=facility, start_date=start_date, end_date=None, acting_user=acting_user)
    require_doctor_reach(acting_user, doctor)
    return posting


def doctor_rehash_id_numbers(*, doctor_model=None) -> int:
    """Recompute every doctor's ID-number look-up hash with the configured HASH_KEY (after the key
    is rotated; see core.hashing). Returns the doctors rewritten. `doctor_model` lets a migration
    pass its historical model."""
    from core.hashing import keyed_hash

    model = doctor_model or Doctor
    changed = []
    for doctor in model.objects.only("pk", "id_number", "id_number_hash").iterator(chunk_size=2000):
        digest = keyed_hash(doctor.id_number)
        if digest != doctor.id_number_hash:
            doctor.id_number_hash = digest
            changed.append(doctor)
    model.objects.bulk_update(changed, ["id_number_hash"], batch_size=2000)
    return len(changed)
