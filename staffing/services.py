"""Writes to the doctor register. Each service validates, saves in one transaction and audits."""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from clinics.audit import audit_record, changed_fields, snapshot
from clinics.models import Facility, Role, UserScope
from clinics.roles import role_assign
from clinics.tabular import parse_date, read_table
from clinics.validators import validate_mobile, validate_resident_id
from staffing.models import Doctor, Posting, keyed_hash

DOCTOR_FIELDS = [
    "name",
    "sex",
    "birth_date",
    "id_number",
    "mobile",
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
    doctor = Doctor(**data)
    doctor.full_clean()
    doctor.save()
    audit_record(actor=acting_user, action="doctor.create", target=doctor, changes=snapshot(doctor, AUDITED_DOCTOR_FIELDS))
    if facility is not None:
        posting_open(doctor=doctor, facility=facility, start_date=doctor.hire_date, acting_user=acting_user)
    return doctor


@transaction.atomic
def doctor_update(*, doctor: Doctor, acting_user, **data) -> Doctor:
    before = snapshot(doctor, DOCTOR_FIELDS)
    for key, value in data.items():
        if key not in DOCTOR_FIELDS:
            raise ValueError(f"unknown doctor field {key}")
        setattr(doctor, key, value)
    doctor.full_clean()
    doctor.save()
    changes = changed_fields(before, snapshot(doctor, DOCTOR_FIELDS))
    # Personal identifiers are audited as "changed", never with their values.
    for secret in ("id_number", "bank_account"):
        if secret in changes:
            changes[secret] = ["***", "***"]
    if changes:
        audit_record(actor=acting_user, action="doctor.update", target=doctor, changes=changes)
    if doctor.exit_date:
        open_posting = doctor.postings.filter(end_date__isnull=True).first()
        if open_posting and open_posting.start_date <= doctor.exit_date:
            posting_close(posting=open_posting, end_date=doctor.exit_date, acting_user=acting_user)
    return doctor


def _check_overlap(*, doctor: Doctor, start_date, end_date, exclude_pk=None) -> None:
    overlapping = Posting.objects.filter(doctor=doctor).exclude(pk=exclude_pk)
    overlapping = overlapping.exclude(end_date__lt=start_date)
    if end_date is not None:
        overlapping = overlapping.exclude(start_date__gt=end_date)
    clash = overlapping.select_related("facility").first()
    if clash:
        raise ValidationError(
            {
                "start_date": _(
                    "This doctor is already posted to %(facility)s from %(start)s; "
                    "end that posting first or move the doctor."
                )
                % {"facility": clash.facility.name, "start": clash.start_date}
            }
        )


def _sync_user_scope(doctor: Doctor, facility: Facility | None) -> None:
    """A village doctor's login reaches the clinic of their open posting."""
    if doctor.user_id is None or facility is None:
        return
    scope = UserScope.objects.filter(user_id=doctor.user_id).first()
    if scope is None or scope.role == Role.VILLAGE_DOCTOR:
        role_assign(user=doctor.user, role=Role.VILLAGE_DOCTOR, facility=facility, township=facility.township)


@transaction.atomic
def posting_open(*, doctor: Doctor, facility: Facility, start_date: datetime.date, acting_user, end_date=None) -> Posting:
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
    if end_date is None:
        _sync_user_scope(doctor, facility)
    return posting


@transaction.atomic
def posting_close(*, posting: Posting, end_date: datetime.date, acting_user) -> Posting:
    if end_date < posting.start_date:
        raise ValidationError({"end_date": _("A posting cannot end before it starts.")})
    before = posting.end_date
    posting.end_date = end_date
    posting.full_clean()
    posting.save(update_fields=["end_date"])
    audit_record(actor=acting_user, action="posting.close", target=posting, changes={"end_date": [before, end_date]})
    return posting


def posting_move_check(*, doctor: Doctor, facility: Facility, start_date: datetime.date) -> Posting | None:
    """Refuse a move that cannot be made, with the friendly message; returns the open posting it
    would close. The admin form calls it before saving, `posting_move` again under the row lock."""
    if start_date < doctor.hire_date:
        raise ValidationError({"start_date": _("A posting cannot start before the doctor's hire date.")})
    current = Posting.objects.filter(doctor=doctor, end_date__isnull=True).first()
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
    """Close the doctor's open posting the day before `start_date` and open one at `facility`."""
    Posting.objects.select_for_update().filter(doctor=doctor, end_date__isnull=True).first()
    current = posting_move_check(doctor=doctor, facility=facility, start_date=start_date)
    if current is not None:
        posting_close(posting=current, end_date=start_date - datetime.timedelta(days=1), acting_user=acting_user)
    return posting_open(doctor=doctor, facility=facility, start_date=start_date, acting_user=acting_user)
