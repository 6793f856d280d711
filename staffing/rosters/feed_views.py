"""The doctor's iCalendar feed (no login: the address itself is the secret) and the page where the
doctor chooses its reminder and language."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from staffing.rosters.forms import FeedSettingsForm
from staffing.rosters.ical import feed_by_token, feed_render
from staffing.rosters.services.feeds import calendar_feed_get_or_create, calendar_feed_update


@require_safe
def ical_feed(request, token: str):
    """The feed, with ETag and Last-Modified; 304 when the app's copy is current."""
    feed = feed_by_token(token)
    if feed is None:
        raise Http404
    rendered = feed_render(feed=feed)
    response = HttpResponse(rendered.body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="duty.ics"'
    response["Cache-Control"] = "private, max-age=900"
    response["ETag"] = rendered.etag
    response["Last-Modified"] = http_date(rendered.last_modified.timestamp())
    response["Content-Language"] = rendered.language
    return get_conditional_response(
        request, etag=rendered.etag, last_modified=int(rendered.last_modified.timestamp()), response=response
    )


@login_required
def feed_settings(request):
    doctor = getattr(request.user, "doctor", None)
    if doctor is None:
        raise PermissionDenied(_("This page is for village doctors."))
    feed = calendar_feed_get_or_create(doctor=doctor)
    form = FeedSettingsForm(
        request.POST or None,
        current=feed.alarm_minutes,
        initial={"alarm": feed.alarm, "alarm_minutes": feed.alarm_minutes, "language": feed.language},
    )
    if request.method == "POST" and form.is_valid():
        try:
            calendar_feed_update(doctor=doctor, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Your calendar settings were saved; your calendar app picks them up at its next refresh."))
            return redirect("rosters:my-duty")
    return render(
        request,
        "rosters/feed_settings.html",
        {"form": form, "feed_url": request.build_absolute_uri(reverse("rosters:ical", args=[feed.token]))},
    )
