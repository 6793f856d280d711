"""A doctor's login: which account opens the doctor's pages (a village doctor's account in reach),
and its reach following the posting in force (moved on the posting's start date by the daily task
`staffing.sync_doctor_logins`)."""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Role, UserScope
from clinics.password_change import password_change_require
from clinics.roles import role_assign
from clinics.scoping import OUT_OF_REACH, facility_in_reach
from core.audit import audit_record
from staffing.models import Doctor, Posting
from staffing.reach import in_force_on, require_doctor_reach


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
    and new username. The login's reach then follows the posting in force (`doctor_login_follow_posting`)."""
    locked = Doctor.objects.select_for_update(of=("self",)).select_related("user").get(pk=doctor.pk)
    doctor.user = user
    if locked.user_id == (user.pk if user is not None else None):
        return doctor
    doctor_link_user_check(doctor=locked, user=user, acting_user=acting_user)
    old_username = locked.user.get_username() if locked.user_id else None
    new_username = user.get_username() if user is not None else None
    doctor.save(update_fields=["user"])
    audit_record(actor=acting_user, action="doctor.link_user", target=doctor, changes={"user": [old_username, new_username]})
    doctor_login_follow_posting(doctor, acting_user=acting_user)
    require_doctor_reach(acting_user, doctor, field=None)
    return doctor

def doctor_login_follow_posting(doctor: Doctor, *, today: datetime.date | None = None, acting_user=None) -> bool:
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
    return sum(1 for doctor in stale if doctor_login_follow_posting(doctor, today=today))


# --- The doctor's phone login: created, reset and (de)activated by an admin in reach ---------------

ONE_TIME_PASSWORD_CHARS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or copied by hand


def _one_time_password() -> str:
    from django.utils.crypto import get_random_string

    return get_random_string(10, ONE_TIME_PASSWORD_CHARS)


def doctor_login_username(doctor: Doctor) -> str:
    """The login's username: the doctor's mobile number from the register (what the doctor types
    on the phone); `d<register number>` when the register has no mobile; `-2`, `-3`… when taken."""
    base = (doctor.mobile or "").strip() or f"d{doctor.pk:05d}"
    users = get_user_model().objects
    username, n = base, 1
    while users.filter(username__iexact=username).exists():
        n += 1
        username = f"{base}-{n}"
    return username


def _one_time_password_sms(*, doctor: Doctor, user, password: str) -> str:
    """Queue the one-time password by SMS to the register's mobile (the masked mobile returned for
    the page and the audit); the outbox keeps the text with the password masked once it is sent."""
    from core.validators import mask_mobile
    from notifications.models import Kind
    from notifications.services import notify_secret_sms

    if not (doctor.mobile or "").strip():
        raise ValidationError(_("The register has no mobile number for this doctor: show the password once instead."))
    notify_secret_sms(
        recipient=user, kind=Kind.LOGIN_PASSWORD, about=doctor, address=doctor.mobile, secrets=["password"],
        context={"name": doctor.name, "username": user.get_username(), "password": password},
    )  # fmt: skip
    return mask_mobile(doctor.mobile)


@transaction.atomic
def doctor_login_create(*, doctor: Doctor, acting_user, send_sms: bool = False) -> tuple[object, str | None]:
    """Create the doctor's phone login in the acting user's reach: a village doctor's account at
    the clinic of the posting in force (or the upcoming one), linked to the doctor, with a one-time
    password returned once to be shown once (only its hash is stored) — or, `send_sms`, sent by SMS
    to the register's mobile and not returned (None). Audited without it."""
    locked = Doctor.objects.select_for_update(of=("self",)).get(pk=doctor.pk)
    require_doctor_reach(acting_user, locked, field=None)
    if locked.user_id is not None:
        raise ValidationError(_("This doctor already has a login; reset its password instead."))
    today = timezone.localdate()
    posting = (
        Posting.objects.filter(in_force_on(today), doctor_id=locked.pk).select_related("facility__township").first()
        or Posting.objects.filter(doctor_id=locked.pk, start_date__gt=today).select_related("facility__township")
        .order_by("start_date").first()
    )
    if posting is None:
        raise ValidationError(_("Post the doctor at a clinic first: the login opens that clinic's pages."))
    password = _one_time_password()
    user = get_user_model().objects.create_user(
        username=doctor_login_username(locked), password=password, first_name=locked.name[:150]
    )
    role_assign(
        user=user, role=Role.VILLAGE_DOCTOR, facility=posting.facility, township=posting.facility.township,
        acting_user=acting_user,
    )
    doctor_link_user(doctor=locked, user=user, acting_user=acting_user)
    password_change_require(user)  # the first sign-in leads to setting the doctor's own password
    changes = {"username": user.get_username()}
    if send_sms:
        changes["password_sent_by_sms_to"] = _one_time_password_sms(doctor=locked, user=user, password=password)
    audit_record(actor=acting_user, action="doctor.login_create", target=locked, changes=changes)
    doctor.user = user
    return user, None if send_sms else password


@transaction.atomic
def doctor_login_reset_password(*, doctor: Doctor, acting_user, send_sms: bool = False) -> str | None:
    """A new one-time password for the doctor's login (the old one stops working), returned once
    to be shown once — or, `send_sms`, sent by SMS to the register's mobile and not returned
    (None); audited without it."""
    locked = Doctor.objects.select_for_update(of=("self",)).select_related("user").get(pk=doctor.pk)
    require_doctor_reach(acting_user, locked, field=None)
    if locked.user_id is None:
        raise ValidationError(_("This doctor has no login yet; create one first."))
    password = _one_time_password()
    locked.user.set_password(password)
    locked.user.save(update_fields=["password"])
    password_change_require(locked.user)
    changes = {"username": locked.user.get_username()}
    if send_sms:
        changes["password_sent_by_sms_to"] = _one_time_password_sms(doctor=locked, user=locked.user, password=password)
    audit_record(actor=acting_user, action="doctor.login_reset", target=locked, changes=changes)
    return None if send_sms else password


@transaction.atomic
def doctor_login_set_active(*, doctor: Doctor, active: bool, acting_user) -> None:
    """Deactivate the doctor's login (the doctor left: it can no longer sign in) or reactivate it;
    audited with the change."""
    locked = Doctor.objects.select_for_update(of=("self",)).select_related("user").get(pk=doctor.pk)
    require_doctor_reach(acting_user, locked, field=None)
    if locked.user_id is None:
        raise ValidationError(_("This doctor has no login yet; create one first."))
    if locked.user.is_active == active:
        return
    locked.user.is_active = active
    locked.user.save(update_fields=["is_active"])
    audit_record(
        actor=acting_user, action="doctor.login_activate" if active else "doctor.login_deactivate", target=locked,
        changes={"username": locked.user.get_username(), "is_active": [not active, active]},
    )
