from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications.forms import PreferenceForm
from notifications.selectors import READ_FILTERS, inbox_list, inbox_unread_count, preference_get
from notifications.services import notification_mark_read, notification_mark_unread, preference_update

PAGE_SIZE = 30


@login_required
def inbox(request):
    read = request.GET.get("read", "all")
    read = read if read in READ_FILTERS else "all"
    page = Paginator(inbox_list(user=request.user, read=read), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {"page": page, "read": read, "unread": inbox_unread_count(user=request.user)},
    )


@login_required
@require_POST
def mark_read(request, pk: int):
    notification_mark_read(user=request.user, ids=[pk])
    return redirect_inbox(request)


@login_required
@require_POST
def mark_unread(request, pk: int):
    notification_mark_unread(user=request.user, ids=[pk])
    return redirect_inbox(request)


@login_required
@require_POST
def mark_all_read(request):
    marked = notification_mark_read(user=request.user)
    messages.success(request, _("%(count)d messages marked read.") % {"count": marked})
    return redirect_inbox(request)


def redirect_inbox(request):
    read = request.POST.get("read", "all")
    return redirect(f"{reverse('notifications:inbox')}?read={read if read in READ_FILTERS else 'all'}")


@login_required
def preferences(request):
    form = PreferenceForm(request.POST or None, initial=preference_get(user=request.user))
    if request.method == "POST" and form.is_valid():
        try:
            preference_update(user=request.user, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Your notification settings are saved."))
            return redirect("notifications:inbox")
    return render(request, "notifications/preferences.html", {"form": form})
