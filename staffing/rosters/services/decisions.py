"""The decision step leave and swap requests share."""

from django.utils import timezone

from core.transitions import StateMachine
from staffing.rosters.models import DecisionStatus
from staffing.rosters.services.reach import acting_user_or_none


def decision_record(flow: StateMachine, request, *, approve: bool, note: str, acting_user):
    """Approve or reject a pending request (already locked by the caller) through its machine:
    who decided, when, the note, and the audit row `<prefix>.decide`."""
    note = (note or "").strip()[:200]
    return flow.transition(
        request,
        to=DecisionStatus.APPROVED if approve else DecisionStatus.REJECTED,
        kind="decide",
        actor=acting_user,
        fields={"decided_by": acting_user_or_none(acting_user), "decided_at": timezone.now(), "decision_note": note},
        reason=note,
        lock=False,
    )
