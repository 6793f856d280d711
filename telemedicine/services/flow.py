"""The life of a consult booking, declared once: which status may follow which, and the trail each
step leaves (a BookingEvent and an audit row, written by `core.transitions.StateMachine`).

    requested ──confirm──▶ confirmed ──start──▶ in_progress ──complete──▶ completed
        │  ▲                  │  │
        │  └──reschedule──────┘  ├──no-show (sweep)──▶ no_show
        │                        └──cancel──▶ cancelled
        ├──decline / cancel / expiry (sweep)──▶ declined / cancelled
    (reschedule from requested or confirmed goes back to requested; a consult once confirmed
    is no longer declined: the consultant cancels it, with a reason, like the doctor)

Every status change goes through `BOOKING_FLOW`: the services in `bookings` for the steps a person
takes, `sweeps` for the ones time takes. A step the table does not allow is a `BookingConflict`
(409, code "invalid_transition") that says what the consult is now. Adding a state or a step is an
entry here (and the status choice on the model); who may take it and when stays in its service.
"""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from core.transitions import StateMachine
from telemedicine import conf
from telemedicine.exceptions import BookingConflict
from telemedicine.models import BookingEvent, ConsultBooking

Status = ConsultBooking.Status

TRANSITIONS = {
    Status.REQUESTED: {Status.CONFIRMED, Status.DECLINED, Status.CANCELLED, Status.REQUESTED},
    Status.CONFIRMED: {Status.IN_PROGRESS, Status.CANCELLED, Status.NO_SHOW, Status.REQUESTED},
    Status.IN_PROGRESS: {Status.COMPLETED},
    # declined, completed, cancelled and no-show are final.
}

# How the refusal names the step refused, by the state it would lead to.
STEP_WORDS = {
    Status.CONFIRMED: pgettext_lazy("consult action", "confirmed"),
    Status.DECLINED: pgettext_lazy("consult action", "declined"),
    Status.IN_PROGRESS: pgettext_lazy("consult action", "started"),
    Status.COMPLETED: pgettext_lazy("consult action", "completed"),
    Status.CANCELLED: pgettext_lazy("consult action", "cancelled"),
    Status.REQUESTED: pgettext_lazy("consult action", "rescheduled"),
}


def _refusal(booking: ConsultBooking, to) -> str:
    step = STEP_WORDS.get(to) or Status(to).label
    return _("This consult is “%(status)s”, so it cannot be %(action)s.") % {
        "status": booking.get_status_display(),
        "action": step,
    }


def _user_or_none(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def booking_event_write(booking: ConsultBooking, *, kind, actor, from_status="", note="", from_slot=None, to_slot=None) -> BookingEvent:
    """One row of the booking's trail (its creation, or a step of `BOOKING_FLOW`)."""
    return BookingEvent.objects.create(
        booking=booking,
        actor=_user_or_none(actor),
        kind=kind,
        from_status=from_status,
        to_status=booking.status,
        from_slot=from_slot,
        to_slot=to_slot,
        note=(note or "")[:300],
    )


def _record_event(booking, *, before, to, kind, actor, note, from_slot=None, to_slot=None) -> None:
    booking_event_write(booking, kind=kind, actor=actor, from_status=before, note=note, from_slot=from_slot, to_slot=to_slot)


def _record_events(bookings, *, befores, to, kind, actor, note) -> None:
    BookingEvent.objects.bulk_create(
        BookingEvent(booking=b, actor=_user_or_none(actor), kind=kind, from_status=befores[b.pk], to_status=to, note=(note or "")[:300])
        for b in bookings
    )


BOOKING_FLOW = StateMachine(
    model=ConsultBooking,
    allowed=TRANSITIONS,
    audit_prefix="teleconsult.booking",
    record_event=_record_event,
    record_events=_record_events,
    refusal=_refusal,
    error=BookingConflict,
)


def booking_lock(booking: ConsultBooking) -> ConsultBooking:
    """The booking locked for the rest of the transaction (FOR UPDATE of its own row only: on a
    join PostgreSQL would lock the related rows too), with the rows a step reads loaded."""
    locked = BOOKING_FLOW.lock(booking)
    return ConsultBooking.objects.select_related("consultant__department", "doctor", "slot", "facility").get(pk=locked.pk)


def stamps(fields: dict) -> dict:
    """The times a step sets (confirmed_at, finished_at…), for its audit row."""
    return {name: str(value) for name, value in fields.items() if name.endswith("_at")}



# --- The steps a page offers -------------------------------------------------------------------
#
# One answer to "which buttons does this consult show this person now": the table above (the
# state), the person's side, and the time rules the services enforce (the same functions below).
# The pages (detail, queue) and their tests render from `booking_actions`; the services keep their
# own checks, which give the refusal's message when a stale page posts anyway.

# action → the state it leads to
ACTION_TARGETS = {
    "confirm": Status.CONFIRMED,
    "decline": Status.DECLINED,
    "start": Status.IN_PROGRESS,
    "complete": Status.COMPLETED,
    "cancel": Status.CANCELLED,
    "reschedule": Status.REQUESTED,
}
CONSULTANT_ACTIONS = {"confirm", "decline", "start", "complete", "cancel"}
DOCTOR_ACTIONS = {"cancel", "reschedule"}


def change_deadline(booking: ConsultBooking) -> datetime.datetime:
    """Cancelling and rescheduling close this long before the start (TELECONSULT_CANCEL_CLOSES_HOURS)."""
    return booking.starts_at - conf.cancel_closes_before()


def start_window(booking: ConsultBooking) -> tuple[datetime.datetime, datetime.datetime]:
    """From when until when the consultant may start the consult: from the room's opening to the
    slot's end plus the no-show grace."""
    return booking.starts_at - conf.video_opens_before(), booking.ends_at + conf.no_show_grace()


def _in_time(booking: ConsultBooking, action: str, now: datetime.datetime) -> bool:
    if action == "confirm":
        return now < booking.ends_at
    if action == "start":
        opens, closes = start_window(booking)
        return opens <= now <= closes
    if action in ("cancel", "reschedule"):
        return now <= change_deadline(booking)
    return True


def booking_actions(booking: ConsultBooking, user, *, now: datetime.datetime | None = None) -> frozenset[str]:
    """The steps `user` may take on `booking` now: those the table allows from its state, that
    belong to the user's side (the consultant of the consult, the village doctor who booked it),
    and whose time has come and not gone."""
    now = now or timezone.now()
    pk = getattr(user, "pk", None)
    mine = set()
    if pk is not None and booking.consultant.user_id == pk:
        mine |= CONSULTANT_ACTIONS
    if pk is not None and booking.doctor.user_id == pk:
        mine |= DOCTOR_ACTIONS
    return frozenset(
        action for action in mine if BOOKING_FLOW.can(booking, ACTION_TARGETS[action]) and _in_time(booking, action, now)
    )
