"""The periodic pass over consults whose time has gone by (beat task every five minutes): after a
slot's end plus the grace period (TELECONSULT_NO_SHOW_GRACE_MINUTES) a confirmed consult never
started is a no-show, and a request the consultant never confirmed is cancelled by the system with
its place freed. Both steps go through `flow.BOOKING_FLOW` in bulk: one statement per step, one
event and one audit row per booking moved; rows a user is changing right now wait for the next run."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telemedicine import conf
from telemedicine.models import BookingEvent, ConsultBooking
from telemedicine.services.flow import BOOKING_FLOW
from telemedicine.services.slots import slot_release_place

Status = ConsultBooking.Status


@dataclass
class SweepReport:
    no_show: int = 0
    expired: int = 0


@transaction.atomic
def bookings_sweep_past(*, now: datetime.datetime | None = None) -> SweepReport:
    """No-shows and expired requests among the consults that ended before now minus the grace."""
    now = now or timezone.now()
    past = ConsultBooking.objects.filter(ends_at__lt=now - conf.no_show_grace())
    no_shows = BOOKING_FLOW.bulk_transition(
        past.filter(status=Status.CONFIRMED),
        to=Status.NO_SHOW, kind=BookingEvent.Kind.NO_SHOW, actor=None, skip_locked=True,
        fields={"finished_at": now},
        reason=_("The consult was not started by the end of its slot plus the grace period."),
        audit_changes={"status": [Status.CONFIRMED, Status.NO_SHOW]},
    )
    reason = _("The consultant did not confirm the request before the slot ended.")
    expired = BOOKING_FLOW.bulk_transition(
        past.filter(status=Status.REQUESTED),
        to=Status.CANCELLED, kind=BookingEvent.Kind.CANCELLED, actor=None, skip_locked=True,
        fields={"cancelled_at": now, "cancelled_by_side": ConsultBooking.Side.SYSTEM, "cancel_reason": reason, "finished_at": now},
        reason=reason,
        audit_changes={"status": [Status.REQUESTED, Status.CANCELLED]},
    )
    for booking in expired:
        slot_release_place(booking.slot_id)
    return SweepReport(no_show=len(no_shows), expired=len(expired))
