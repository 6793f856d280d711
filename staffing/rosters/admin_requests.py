"""Admin of leave and swap requests: leave entered for a doctor (a doctor phoning in sick), the
decision on the request's own page with a comment the doctor sees, the doctor's leave balances
beside it, and the gaps a leave would create. Every write goes through the services."""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.admin_base import CountyWritesMixin, ScopedAdmin
from clinics.scoping import scope_choices, user_role
from core.errors import DomainError
from staffing.models import Doctor
from staffing.rosters.balances import leave_balances, leave_over_balance
from staffing.rosters.forms import LeaveForm
from staffing.rosters.models import (
    LEAVE_FLOW,
    SWAP_FLOW,
    DecisionStatus,
    LeaveEntitlement,
    LeaveRequest,
    SwapRequest,
)
from staffing.rosters.services.leave import leave_decide, leave_gap_preview, leave_request_create
from staffing.rosters.services.reach import DECIDING_ROLES
from staffing.rosters.services.swaps import swap_decide
from staffing.selectors import today

REFUSALS = (ValidationError, PermissionDenied, DomainError)


def _errors(request, exc: Exception) -> None:
    messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))


# --- Leave and swaps ----------------------------------------------------------------------------


class DecideMixin:
    decide_service = None
    decide_flow = None  # the model's StateMachine: only requests it lets be decided are tried

    def _decide_all(self, request, queryset, approve: bool):
        done = 0
        for obj in queryset.filter(status__in=self.decide_flow.sources(DecisionStatus.APPROVED)):
            try:
                type(self).decide_service(obj, approve=approve, acting_user=request.user)
                done += 1
            except REFUSALS as exc:
                _errors(request, exc)
        if done:
            messages.success(request, gettext("%(n)s requests decided.") % {"n": done})

    # --- the decision on the request's own page ----------------------------------------------

    def decision_context(self, request, obj, *, can_decide: bool) -> dict:
        """What the model's page shows beside the decision (balances, the colleague's answer)."""
        return {}

    def decided_message(self, obj) -> str:
        return gettext("The request was %(status)s.") % {"status": obj.get_status_display()}

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_decide"
        return [path("<int:pk>/decide/", self.admin_site.admin_view(self.decide_view), name=name), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if obj is not None:
            can_decide = self.decide_flow.can(obj, DecisionStatus.APPROVED) and self.has_change_permission(request, obj)
            extra.update({
                "can_decide": can_decide,
                "decision_form": _decision_form(request),
                "decide_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_decide", args=[obj.pk]),
                "show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False,
                **self.decision_context(request, obj, can_decide=can_decide),
            })
        return super().change_view(request, object_id, form_url, extra)

    def decide_view(self, request, pk: int):
        """Approve or reject from the page's buttons through the model's service; a refusal comes
        back to the page with the comment kept."""
        obj = get_object_or_404(self.get_queryset(request), pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, obj):
            raise PermissionDenied
        form = DecisionForm(request.POST)
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        if not form.is_valid():
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
            return redirect(change_url)
        note = form.cleaned_data["decision_note"]
        try:
            obj = type(self).decide_service(obj, approve="_approve" in request.POST, acting_user=request.user, note=note,
                                            exceed_balance=form.cleaned_data["exceed_balance"])
        except REFUSALS as exc:
            _errors(request, exc)
            return redirect(f"{change_url}?{urlencode({'note': note})}")
        messages.success(request, self.decided_message(obj))
        return redirect(change_url)

    @admin.action(description=_("Approve the selected requests"), permissions=["change"])
    def approve(self, request, queryset):
        self._decide_all(request, queryset, True)

    @admin.action(description=_("Reject the selected requests"), permissions=["change"])
    def reject(self, request, queryset):
        self._decide_all(request, queryset, False)


def _leave_decide(leave, **kwargs):
    return leave_decide(leave=leave, **kwargs)


def _swap_decide(swap, *, exceed_balance: bool = False, **kwargs):
    return swap_decide(swap=swap, **kwargs)  # a swap has no balance to exceed


class DecisionForm(forms.Form):
    """The decision on a request's page: approve or reject (the button pressed), with a comment."""

    decision_note = forms.CharField(
        label=_("comment for the doctor"), required=False, max_length=200,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("The doctor sees it on the phone and in the notification."),
    )
    exceed_balance = forms.BooleanField(label=_("approve beyond the entitlement"), required=False)


class LeaveEntryForm(DecisionForm, LeaveForm):
    """Leave an admin records for a doctor in reach (a doctor phoning in sick): the phone's leave
    form with the doctor chosen and the decision beside it."""

    doctor = forms.ModelChoiceField(label=_("doctor"), queryset=Doctor.objects.none())
    client_ref = None  # only the phone queues requests offline
    approve = forms.BooleanField(
        label=_("approve at once"), required=False,
        help_text=_("The roster changes now, as for an approved request: duties go, on-call days pass to a colleague "
                    "or become gaps."),
    )
    field_order = ["doctor", "kind", "start_date", "end_date", "reason", "approve", "decision_note", "exceed_balance"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        doctors = Doctor.objects.filter(status=Doctor.Status.ACTIVE).order_by("name", "pk")
        self.fields["doctor"].queryset = scope_choices(doctors, user)


def _add_service_errors(form, exc) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))


def _decision_form(request) -> DecisionForm:
    """The decision fields on a request's change page: they belong to the page's own small form
    (`decide-form`, posted to the decide view), not to the read-only change form around them. A
    refused decision comes back with the comment kept (`?note=`)."""
    form = DecisionForm(initial={"decision_note": request.GET.get("note", "")})
    for field in form.fields.values():
        field.widget.attrs["form"] = "decide-form"
    return form


def _chosen(form, name):
    """The value the admin chose in a field of the entry form (sent or not yet), or None."""
    raw = form.data.get(name) if form.is_bound else form.initial.get(name)
    try:
        return form.fields[name].clean(raw) if raw not in (None, "") else None
    except ValidationError:
        return None


def _is_over_balance(exc) -> bool:
    return isinstance(exc, ValidationError) and not hasattr(exc, "error_dict") and any(
        e.code == "over_balance" for e in exc.error_list
    )


@admin.register(LeaveRequest)
class LeaveRequestAdmin(DecideMixin, ScopedAdmin):
    decide_service = staticmethod(_leave_decide)
    decide_flow = LEAVE_FLOW
    list_display = ["doctor", "facility", "kind", "start_date", "end_date", "days", "status", "entered_mark", "decided_by"]
    list_filter = ["status", "kind", ("facility__township", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["doctor", "facility", "decided_by"]
    search_fields = ["doctor__name", "facility__name"]
    actions = ["approve", "reject"]
    readonly_fields = ["doctor", "facility", "kind", "start_date", "end_date", "reason", "status", "requested_at",
                       "requested_by", "entered_mark", "decided_at", "decided_by", "decision_note", "gaps_if_approved"]
    change_form_template = "admin/rosters/leaverequest/change_form.html"

    def has_add_permission(self, request):
        # Admins who decide a clinic's leave may record it for its doctors.
        return user_role(request.user) in DECIDING_ROLES and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("days"))
    def days(self, obj):
        return obj.days

    @admin.display(description=_("entered by admin"))
    def entered_mark(self, obj):
        return gettext("Entered by an admin on the doctor's behalf") if obj.entered_by_id else "—"

    def _balances(self, doctor, *, year: int, exclude_id=None):
        return leave_balances(doctor_id=doctor.pk, year=year, exclude_id=exclude_id) if doctor is not None else []

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {"start_date": today(), "end_date": today(), "kind": LeaveRequest.Kind.SICK}
        if request.method == "POST" and "_balance" in request.POST:
            # Only to show the chosen doctor's balances: the entry stays unsaved and unjudged.
            form = LeaveEntryForm(user=request.user, initial={**initial, **request.POST.dict()})
        else:
            form = LeaveEntryForm(request.POST or None, user=request.user, initial=initial)
        over = False
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                leave = leave_request_create(
                    doctor=data["doctor"], kind=data["kind"], start_date=data["start_date"], end_date=data["end_date"],
                    reason=data["reason"], acting_user=request.user, approve=data["approve"],
                    note=data["decision_note"], exceed_balance=data["exceed_balance"],
                )
            except REFUSALS as exc:
                over = _is_over_balance(exc)
                _add_service_errors(form, exc)
            else:
                messages.success(request, gettext("The leave of %(name)s was recorded (%(status)s).")
                                 % {"name": leave.doctor.name, "status": leave.get_status_display()})
                return redirect("admin:rosters_leaverequest_change", leave.pk)
        doctor, start = _chosen(form, "doctor"), _chosen(form, "start_date") or today()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Record leave for a doctor"),
            "form": form,
            "opts": self.model._meta,
            "doctor": doctor,
            "balances": self._balances(doctor, year=start.year),
            "balance_year": start.year,
            "over_balance": over,
        }
        return TemplateResponse(request, "admin/rosters/leaverequest/add.html", context)

    def decision_context(self, request, leave, *, can_decide: bool) -> dict:
        year = leave.start_date.year
        return {
            # A request still to decide is shown apart ("this request"), not among the pending.
            "balances": self._balances(leave.doctor, year=year,
                                       exclude_id=leave.pk if leave.status == DecisionStatus.PENDING else None),
            "balance_year": year,
            "this_request_days": leave.days,
            "over_balance": leave_over_balance(leave=leave) if can_decide else [],
        }

    def decided_message(self, leave) -> str:
        return gettext("The leave of %(name)s was %(status)s.") % {"name": leave.doctor.name, "status": leave.get_status_display()}

    @admin.display(description=_("gaps approving it would create"))
    def gaps_if_approved(self, obj):
        if obj is None or not LEAVE_FLOW.can(obj, DecisionStatus.APPROVED):
            return "—"
        gaps = leave_gap_preview(leave=obj)
        if not gaps:
            return gettext("none: colleagues cover every day")
        return format_html_join(
            ", ", "{} {} ({})", ((c.duty.date, c.duty.roster.facility.name, c.duty.get_day_kind_display()) for c in gaps)
        )


@admin.register(SwapRequest)
class SwapRequestAdmin(DecideMixin, ScopedAdmin):
    decide_service = staticmethod(_swap_decide)
    decide_flow = SWAP_FLOW
    list_display = ["requester", "counterpart", "facility", "give_date", "take_date", "status", "decided_by"]
    search_fields = ["requester__name", "counterpart__name", "facility__name", "facility__code"]
    list_filter = ["status"]
    list_select_related = ["requester", "counterpart", "facility", "decided_by"]
    actions = ["approve", "reject"]
    # Every field is read-only (no editable requester or account dropdown): a swap is asked on the
    # phone, answered by the colleague there, and decided here with a comment.
    readonly_fields = ["requester", "counterpart", "facility", "give_date", "take_date", "reason", "status",
                       "requested_at", "requested_by", "colleague_answered_at", "decided_at", "decided_by",
                       "decision_note"]
    change_form_template = "admin/rosters/swaprequest/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def decision_context(self, request, swap, *, can_decide: bool) -> dict:
        return {"awaiting_colleague": swap.status == DecisionStatus.AWAITING}

    def decided_message(self, swap) -> str:
        return gettext("The swap was %(status)s.") % {"status": swap.get_status_display()}


@admin.register(LeaveEntitlement)
class LeaveEntitlementAdmin(CountyWritesMixin, ScopedAdmin):
    """Yearly entitlements per leave kind: the county's row for every doctor, or one doctor's own.
    Every admin who decides leave reads them; only county-wide roles change them."""

    facility_path = None
    list_display = ["year", "kind", "doctor", "days", "note"]
    list_filter = ["year", "kind"]
    list_select_related = ["doctor"]
    search_fields = ["doctor__name"]
    autocomplete_fields = ["doctor"]
