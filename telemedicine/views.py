"""Phone pages: the village doctor finds slots, books, follows, cancels or reschedules consults and
reads the outcome; the consultant runs the day's schedule. Views parse input, call a selector or
a service, and render."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.models import Role
from clinics.scoping import user_role
from core.errors import DomainError
from core.retry import with_retry
from staffing.rosters.exceptions import CalendarMissing
from telemedicine import conf
from telemedicine.exceptions import BUSY_MESSAGE
from telemedicine.forms import BookingForm, OutcomeForm, SlotSearchForm
from telemedicine.models import ConsultBooking, Slot
from telemedicine.selectors import (
    booking_by_room_token,
    booking_get,
    booking_list,
    consultant_day,
    consultant_queue,
    first_open_day,
    open_slot_list,
    patient_history,
    room_access,
)
from telemedicine.services import bookings
from telemedicine.services.flow import booking_actions, start_window
from telemedicine.services.patients import Patient

Status = ConsultBooking.Status


def _attempt(request, func, form=None, **kwargs):
    """Run a service (retried while the database is busy); show a refusal on the form or as a
    message. Returns the result or None."""
    try:
        return with_retry(func, busy_message=BUSY_MESSAGE, **kwargs)
    except ValidationError as exc:
        if form is not None and hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            for message in exc.messages:
                messages.error(request, message)
    except DomainError as exc:  # a BookingConflict (409), or Busy after the retries
        if form is not None:
            form.add_error(None, exc.message)
        else:
            messages.error(request, exc.message)
    return None


def _booking_or_404(request, pk) -> ConsultBooking:
    booking = booking_get(user=request.user, pk=pk)
    if booking is None:
        raise Http404(_("No such consult in your reach."))
    return booking


def _require_doctor(request):
    if user_role(request.user) != Role.VILLAGE_DOCTOR or getattr(request.user, "doctor", None) is None:
        raise PermissionDenied(_("Only village doctors book teleconsults."))


@login_required
def my_bookings(request):
    role = user_role(request.user)
    if role == Role.CONSULTANT:
        return redirect("telemedicine:schedule")
    bookings = booking_list(user=request.user).order_by("-starts_at", "-id")[:100]
    now = timezone.now()
    upcoming = [b for b in bookings if b.ends_at >= now and b.status in ConsultBooking.OPEN + (ConsultBooking.Status.IN_PROGRESS,)]
    past = [b for b in bookings if b not in upcoming]
    return render(
        request,
        "telemedicine/my_bookings.html",
        {"upcoming": sorted(upcoming, key=lambda b: b.starts_at), "past": past, "can_book": role == Role.VILLAGE_DOCTOR},
    )


def _calendar_missing_message(year: int) -> str:
    return _(
        "Slots in %(year)s are not offered yet: the %(year)s holiday calendar is not loaded. "
        "Ask the county health bureau to load it."
    ) % {"year": year}


def _no_open_day_message(found, department) -> str:
    if found.missing_calendar_year:
        return _calendar_missing_message(found.missing_calendar_year)
    horizon = {"days": conf.slot_horizon_days()}
    if department is not None:
        return _("No open slots in this department in the coming %(days)s days.") % horizon
    return _("No open slots in any department in the coming %(days)s days.") % horizon


def _slot_search(request, default: dict | None = None):
    """The search form, its open slots and the day they are of. Without a date the search takes
    the first day from today with a free slot (in the chosen department, or in any), so the date
    field always holds an ISO date the browser shows; without a department it lists every
    department's slots, so the page opens with the slots of that day, nothing picked."""
    data = request.GET.copy() if request.GET else (default or {})
    form = SlotSearchForm(data)
    if not form.is_valid():
        return form, None, None
    department = form.cleaned_data["department"]
    department_id = department.pk if department is not None else None
    day = form.cleaned_data["date"]
    if day is None:
        found = first_open_day(department_id=department_id)
        day = found.day
        data = data.copy() if hasattr(data, "copy") else dict(data)
        data["date"] = (day or timezone.localdate()).isoformat()
        form = SlotSearchForm(data)
        form.is_valid()
        if day is None:
            form.add_error("date", _no_open_day_message(found, department))
            return form, None, None
    try:
        slots = list(open_slot_list(department_id=department_id, day=day))
    except CalendarMissing as exc:
        form.add_error("date", _calendar_missing_message(exc.year))
        return form, None, None
    return form, slots, day


@login_required
def find_slots(request):
    _require_doctor(request)
    form, slots, day = _slot_search(request)
    return render(request, "telemedicine/find_slots.html", {"form": form, "slots": slots, "day": day, "booking": None})


@login_required
def book(request, slot_id):
    _require_doctor(request)
    slot = Slot.objects.select_related("consultant", "department__facility").filter(pk=slot_id).first()
    if slot is None:
        raise Http404(_("This time slot does not exist."))
    form = BookingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient = Patient(
            name=data["patient_name"],
            sex=data["patient_sex"],
            birth_date=data["patient_birth_date"],
            age=data["patient_age"],
            id_number=data["patient_id_number"],
            poverty_household=data["poverty_household"],
        )
        booking = _attempt(
            request,
            bookings.booking_create,
            form=form,
            slot_id=slot.pk,
            acting_user=request.user,
            patient=patient,
            chief_complaint=data["chief_complaint"],
            urgency=data["urgency"],
            mode=data["mode"],
        )
        if booking is not None:
            messages.success(request, _("Consult requested. The consultant will confirm it; you will be notified."))
            return redirect("telemedicine:booking_detail", pk=booking.pk)
    return render(request, "telemedicine/book.html", {"form": form, "slot": slot})


def _start_note(request, booking, actions) -> str:
    """When the consultant can start a confirmed consult that cannot be started yet."""
    if "start" in actions or booking.status != Status.CONFIRMED or booking.consultant.user_id != request.user.pk:
        return ""
    opens, _closes = start_window(booking)
    if timezone.now() < opens:
        return _("You can start the consult from %(time)s.") % {"time": f"{timezone.localtime(opens):%m月%d日 %H:%M}"}
    return ""


@login_required
def booking_detail(request, pk):
    booking = _booking_or_404(request, pk)
    events = booking.events.select_related("actor", "from_slot", "to_slot")
    actions = booking_actions(booking, request.user)
    return render(
        request,
        "telemedicine/detail.html",
        {
            "booking": booking,
            "events": events,
            "room": room_access(booking, user=request.user),
            "video_statuses": ConsultBooking.OPEN + (ConsultBooking.Status.IN_PROGRESS,),
            "actions": actions,
            "start_note": _start_note(request, booking, actions),
            "patient_history": patient_history(user=request.user, booking=booking),
            "reachable": set(booking_list(user=request.user).filter(patient_key=booking.patient_key).values_list("pk", flat=True)),
        },
    )


def _post_action(request, pk, func, success: str, **extra):
    booking = _booking_or_404(request, pk)
    if _attempt(request, func, booking=booking, acting_user=request.user, **extra) is not None:
        messages.success(request, success)
    target = _next_url(request)
    return redirect(target) if target else redirect("telemedicine:booking_detail", pk=pk)


def _next_url(request) -> str | None:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return None


@login_required
@require_POST
def confirm(request, pk):
    return _post_action(request, pk, bookings.booking_confirm, _("Consult confirmed."))


@login_required
@require_POST
def start(request, pk):
    return _post_action(request, pk, bookings.booking_start, _("Consult started."))


@login_required
@require_POST
def decline(request, pk):
    return _post_action(request, pk, bookings.booking_decline, _("Consult declined."), reason=request.POST.get("reason", ""))


@login_required
@require_POST
def cancel(request, pk):
    return _post_action(request, pk, bookings.booking_cancel, _("Consult cancelled."), reason=request.POST.get("reason", ""))


@login_required
def reschedule(request, pk):
    booking = _booking_or_404(request, pk)
    if request.method == "POST":
        slot_id = request.POST.get("slot", "")
        if not slot_id.isdigit():
            messages.error(request, _("Choose a time slot."))
        else:
            done = _attempt(
                request, bookings.booking_reschedule, booking=booking, slot_id=int(slot_id),
                reason=request.POST.get("reason", ""), acting_user=request.user,
            )
            if done is not None:
                messages.success(request, _("Consult moved to the new time; the consultant will confirm it again."))
                return redirect("telemedicine:booking_detail", pk=pk)
    current = {"department": booking.department_id, "date": max(timezone.localdate(booking.starts_at), timezone.localdate()).isoformat()}
    form, slots, day = _slot_search(request, default=current)
    return render(request, "telemedicine/find_slots.html", {"form": form, "slots": slots, "day": day, "booking": booking})


@login_required
def outcome(request, pk):
    booking = _booking_or_404(request, pk)
    if booking.consultant.user_id != request.user.pk:
        raise PermissionDenied(_("Only the consultant of this consult can record its outcome."))
    form = OutcomeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = _attempt(request, bookings.booking_complete, form=form, booking=booking, acting_user=request.user, **form.cleaned_data)
        if done is not None:
            messages.success(request, _("Outcome recorded; the village doctor has been notified."))
            return redirect("telemedicine:booking_detail", pk=pk)
    return render(request, "telemedicine/outcome.html", {"form": form, "booking": booking})


@login_required
def schedule(request):
    if user_role(request.user) != Role.CONSULTANT:
        raise PermissionDenied(_("The consult schedule is for consultants."))
    try:
        day = datetime.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.localdate()
    if not conf.plausible_day(day):
        day = timezone.localdate()
    bookings = list(consultant_day(user=request.user, day=day))
    return render(
        request,
        "telemedicine/schedule.html",
        {
            "day": day,
            "previous": day - datetime.timedelta(days=1),
            "next": day + datetime.timedelta(days=1),
            "bookings": bookings,
            "consultant": getattr(request.user, "consultant", None),
        },
    )


@login_required
def queue(request):
    """The consultant's queue: requests to answer and consults to hold, across days."""
    if user_role(request.user) != Role.CONSULTANT:
        raise PermissionDenied(_("The consult queue is for consultants."))
    found = consultant_queue(user=request.user)
    return render(
        request,
        "telemedicine/queue.html",
        {
            "pending": [(b, booking_actions(b, request.user)) for b in found.pending],
            "upcoming": [(b, booking_actions(b, request.user)) for b in found.upcoming],
            "consultant": getattr(request.user, "consultant", None),
        },
    )


@login_required
def room(request, token):
    booking = booking_by_room_token(user=request.user, token=token)
    if booking is None:
        raise Http404(_("No such video room in your reach."))
    return render(request, "telemedicine/room.html", {"booking": booking, "room": room_access(booking, user=request.user)})
