"""The notifications roster services send, in the caller's transaction."""

from django.urls import reverse

from staffing.models import Doctor
from staffing.rosters.models import RosterMonth


def duty_link() -> str:
    return reverse("rosters:my-duty")


def notify_doctor(*, doctor: Doctor, kind: str, about, context: dict, link: str = "") -> None:
    if doctor.user_id is None:
        return
    from notifications.services import notify

    notify(recipient=doctor.user, kind=kind, about=about, context=context, link=link)


def notify_amended(*, doctors: set[Doctor], roster: RosterMonth, changes: str) -> None:
    """Tell the doctors a published month changed (a draft changes silently)."""
    if not roster.is_published:
        return
    for doctor in sorted(doctors, key=lambda d: d.pk):
        notify_doctor(
            doctor=doctor,
            kind="roster_amended",
            about=roster,
            context={"facility_name": roster.facility.name, "month": f"{roster.month:%Y-%m}", "changes": changes},
            link=duty_link(),
        )
