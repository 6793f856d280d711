"""The doctor's phone pages: my duty this month and next, leave and swap requests, and the
iCalendar feed (no login: the address itself is the secret)."""

import calendar as pycalendar
import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.months import month_end, month_start, next_month
from staffing.models import Doctor
from staffing.rosters import selectors
from staffing.rosters.balances import leave_balances
from staffing.rosters.exceptions import CalendarMissing
from staffing.rosters.forms import LeaveForm, SwapForm
from staffing.rosters.models import SWAP_FLOW, DayKind, DecisionStatus, DutyDay, LeaveRequest, RosterMonth, SwapRequest
from staffing.rosters.services.feeds import calendar_feed_get_or_create, calendar_feed_reset
from staffing.rosters.services.leave import leave_cancel, leave_request_create
from staffing.rosters.services.swaps import swap_cancel, swap_consent, swap_request_create
from staffing.selectors import doctor_current_posting, today


def _doctor_or_403(request) -> Doctor:
    doctor = getattr(request.user, "doctor", None)
    if doctor is None:
        raise PermissionDenied(_("This page is for village doctors."))
    return doctor


@dataclass
class Cell:
    day: datetime.date
    kind: str | None  # workday / weekend / holiday; None when the year has no calendar
    holiday: str
    duty: str  # "day", "on_call", "" (off)
    leave: str  # "approved", "pending" (asked, not decided yet) or ""
    is_today: bool


def _month_view(*, doctor: Doctor, month: datetime.date, duties: dict, away: dict, today_: datetime.date) -> dict:
    end = month_end(month)
    try:
        kinds, entries = selectors.day_kinds(start=month, end=end)
        missing = None
    except CalendarMissing as exc:
        kinds, entries, missing = {}, selectors.holidays_between(start=month, end=end), exc.messages[0]
    weeks = []
    for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month):
        row = []
        for day in week:
            if day.month != month.month:
                row.append(None)
                continue
            entry = entries.get(day)
            duty = duties.get(day)
            row.append(
                Cell(
                    day=day,
                    kind=kinds.get(day),
                    holiday=entry.name if entry else "",
                    duty=duty.duty if duty else "",
                    leave=away.get(day, ""),
                    is_today=day == today_,
                )
            )
        weeks.append(row)
    listed = [duties[d] for d in sorted(duties)]
    return {
        "month": month,
        "weeks": weeks,
        "duties": listed,
        "entries": entries,
        "missing": missing,
        "on_call": sum(1 for d in listed if d.duty == DutyDay.Duty.ON_CALL),
        "day_duty": sum(1 for d in listed if d.duty == DutyDay.Duty.DAY),
    }


@login_required
def my_duty(request):
    doctor = _doctor_or_403(request)
    now = today()
    this_month = month_start(now)
    months = [this_month, next_month(this_month)]
    end = month_end(months[-1])
    published = {
        m
        for m in RosterMonth.objects.filter(
            month__in=months, status=RosterMonth.Status.PUBLISHED, duties__doctor=doctor
        ).values_list("month", flat=True)
    }
    duties_all = [d for d in selectors.doctor_duties(doctor=doctor, start=this_month, end=end) if d.roster.month in published]
    away = selectors.doctor_leave_marks(doctor_id=doctor.pk, start=this_month, end=end)
    views = []
    for month in months:
        duties = {d.date: d for d in duties_all if month_start(d.date) == month}
        view = _month_view(doctor=doctor, month=month, duties=duties, away=away, today_=now)
        view["published"] = month in published
        views.append(view)
    feed = calendar_feed_get_or_create(doctor=doctor)
    posting = doctor_current_posting(doctor=doctor, day=now)
    leave = LeaveRequest.objects.filter(doctor=doctor).order_by("-start_date")[:5]
    swaps = SwapRequest.objects.filter(requester=doctor).select_related("counterpart").order_by("-give_date")[:5]
    asked = SwapRequest.objects.filter(counterpart=doctor, status=DecisionStatus.AWAITING).select_related("requester").order_by("give_date")
    return render(
        request,
        "rosters/my_duty.html",
        {
            "doctor": doctor,
            "posting": posting,
            "months": views,
            "leave_requests": leave,
            "swap_requests": swaps,
            "swaps_asked": asked,
            "withdrawable": SWAP_FLOW.sources(DecisionStatus.CANCELLED),
            "feed_url": request.build_absolute_uri(reverse("rosters:ical", args=[feed.token])),
            "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
            "DayKind": DayKind,
        },
    )


@login_required
def leave_new(request):
    doctor = _doctor_or_403(request)
    form = LeaveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # A request sent again with its phone id (queued offline, or a retry) gets the first answer.
        try:
            leave = leave_request_create(doctor=doctor, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Your leave request was sent to the township admin."))
            # Deciding it needs the year's holiday calendar: say so now rather than let it wait unexplained.
            try:
                selectors.require_years(range(leave.start_date.year, leave.end_date.year + 1))
            except CalendarMissing as exc:
                messages.warning(request, _(
                    "The township can decide this request only once the %(year)s holiday calendar is loaded."
                ) % {"year": exc.year})
            return redirect("rosters:my-duty")
    year = today().year
    return render(request, "rosters/leave_form.html", {
        "form": form, "balances": leave_balances(doctor_id=doctor.pk, year=year), "balance_year": year,
    })


@login_required
@require_POST
def leave_withdraw(request, pk: int):
    doctor = _doctor_or_403(request)
    leave = get_object_or_404(LeaveRequest, pk=pk, doctor=doctor)
    try:
        leave_cancel(leave=leave, acting_user=request.user)
        messages.success(request, _("The leave request was withdrawn."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("rosters:my-duty")


@login_required
def swap_new(request):
    doctor = _doctor_or_403(request)
    now = today()
    posting = doctor_current_posting(doctor=doctor, day=now)
    give_dates = list(
        DutyDay.objects.filter(
            doctor=doctor, duty=DutyDay.Duty.ON_CALL, date__gt=now, roster__status=RosterMonth.Status.PUBLISHED
        )
        .order_by("date")
        .values_list("date", flat=True)[:40]
    )
    colleagues = []
    if posting is not None:
        # Only colleagues who can answer: active, with a phone login (the service says why otherwise).
        colleagues = [
            p.doctor
            for p in selectors.postings_between(start=now, end=now, facility_ids=[posting.facility_id])
            if p.doctor_id != doctor.pk and p.doctor.status == Doctor.Status.ACTIVE and p.doctor.user_id is not None
        ]
    form = SwapForm(request.POST or None, give_dates=give_dates, colleagues=colleagues)
    if request.method == "POST" and form.is_valid():
        counterpart = next(c for c in colleagues if c.pk == form.cleaned_data["counterpart"])
        try:
            swap_request_create(
                requester=doctor,
                counterpart=counterpart,
                give_date=form.cleaned_data["give_date"],
                take_date=form.cleaned_data["take_date"],
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Your swap request was sent to your colleague; once they agree it goes to the township admin."))
            return redirect("rosters:my-duty")
    return render(request, "rosters/swap_form.html", {"form": form, "has_duties": bool(give_dates)})


def _swap_step(request, pk: int, *, mine: str, step, done: str):
    """One answer to a swap on the phone (the colleague's consent, the requester's withdrawal)."""
    doctor = _doctor_or_403(request)
    swap = get_object_or_404(SwapRequest, pk=pk, **{mine: doctor})
    try:
        step(swap)
        messages.success(request, done)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("rosters:my-duty")


@login_required
@require_POST
def swap_answer(request, pk: int):
    agree = request.POST.get("answer") == "agree"
    return _swap_step(
        request, pk, mine="counterpart",
        step=lambda swap: swap_consent(swap=swap, agree=agree, acting_user=request.user),
        done=_("You agreed; the swap goes to the township admin.") if agree else _("You declined the swap; your colleague is told."),
    )


@login_required
@require_POST
def swap_withdraw(request, pk: int):
    return _swap_step(
        request, pk, mine="requester",
        step=lambda swap: swap_cancel(swap=swap, acting_user=request.user),
        done=_("The swap request was withdrawn."),
    )


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field_name, errors in exc.message_dict.items():
            form.add_error(field_name if field_name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
@require_POST
def feed_reset(request):
    doctor = _doctor_or_403(request)
    calendar_feed_reset(doctor=doctor, acting_user=request.user)
    messages.success(request, _("Your calendar address was changed; the old address no longer works."))
    return redirect("rosters:my-duty")

