"""Admin of leave and swap requests: decisions with the gaps a leave would create."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.admin_base import ScopedAdmin
from core.errors import DomainError
from staffing.rosters.models import LEAVE_FLOW, SWAP_FLOW, DecisionStatus, LeaveRequest, SwapRequest
from staffing.rosters.services.leave import leave_decide, leave_gap_preview
from staffing.rosters.services.swaps import swap_decide

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

    @admin.action(description=_("Approve the selected requests"), permissions=["change"])
    def approve(self, request, queryset):
        self._decide_all(request, queryset, True)

    @admin.action(description=_("Reject the selected requests"), permissions=["change"])
    def reject(self, request, queryset):
        self._decide_all(request, queryset, False)


def _leave_decide(leave, **kwargs):
    return leave_decide(leave=leave, **kwargs)


def _swap_decide(swap, **kwargs):
    return swap_decide(swap=swap, **kwargs)


@admin.register(LeaveRequest)
class LeaveRequestAdmin(DecideMixin, ScopedAdmin):
    decide_service = staticmethod(_leave_decide)
    decide_flow = LEAVE_FLOW
    list_display = ["doctor", "facility", "kind", "start_date", "end_date", "days", "status", "decided_by"]
    list_filter = ["status", "kind", ("facility__township", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["doctor", "facility", "decided_by"]
    search_fields = ["doctor__name", "facility__name"]
    actions = ["approve", "reject"]
    readonly_fields = ["doctor", "facility", "kind", "start_date", "end_date", "reason", "status", "requested_at",
                       "requested_by", "decided_at", "decided_by", "decision_note", "gaps_if_approved"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("days"))
    def days(self, obj):
        return obj.days

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
    readonly_fields = ["requester", "counterpart", "facility", "give_date", "take_date", "reason", "status",
                       "requested_at", "decided_at", "decided_by", "decision_note"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
