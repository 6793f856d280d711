"""The record of every change to a published roster: who, when, why, before and after."""

from django.utils.translation import gettext as _

from core.audit import audit_record
from staffing.rosters.models import DutyDay, RosterAmendment, RosterMonth
from staffing.rosters.services.reach import acting_user_or_none


def describe(duty: DutyDay | None) -> str:
    if duty is None:
        return _("nobody (gap)")
    return f"{duty.doctor.name} · {duty.get_duty_display()}"


def amendment_record(*, roster: RosterMonth, day, action: str, before: str, after: str, reason: str, acting_user) -> None:
    """An amendment row and its audit entry when `roster` is published; a draft changes freely."""
    if not roster.is_published:
        return
    RosterAmendment.objects.create(
        roster=roster,
        date=day,
        action=action,
        before=before[:200],
        after=after[:200],
        reason=reason,
        by=acting_user_or_none(acting_user),
    )
    audit_record(actor=acting_user, action=f"roster.amend.{action}", target=roster,
                 changes={"date": day, "before": before[:200], "after": after[:200]}, reason=reason)
