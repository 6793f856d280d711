"""Leave balances: a doctor's yearly entitlement per leave kind less the leave approved in that year
(and, apart, the leave still pending). Days are calendar days, clipped to the year, as
`LeaveRequest.days` counts them (see `LeaveEntitlement`). Two queries per doctor and year, the day
sums done by the database."""

import datetime
from dataclasses import dataclass

from django.db.models import DurationField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Greatest, Least
from django.utils.translation import gettext as _

from staffing.rosters.models import DecisionStatus, LeaveEntitlement, LeaveRequest


@dataclass(frozen=True)
class LeaveBalance:
    kind: str
    label: str
    year: int
    entitled: int | None  # None: no entitlement set for this kind (nothing to exceed)
    approved: int
    pending: int

    @property
    def remaining(self) -> int | None:
        return None if self.entitled is None else self.entitled - self.approved


def days_in_year(*, start: datetime.date, end: datetime.date, year: int) -> int:
    first, last = max(start, datetime.date(year, 1, 1)), min(end, datetime.date(year, 12, 31))
    return max((last - first).days + 1, 0)


def _entitlements(*, doctor_id: int, year: int) -> dict[str, int]:
    """Per kind: the doctor's own row of the latest year up to `year`, else the county's."""
    found: dict[str, tuple] = {}
    rows = LeaveEntitlement.objects.filter(Q(doctor_id=doctor_id) | Q(doctor__isnull=True), year__lte=year)
    for kind, row_year, own, days in rows.values_list("kind", "year", "doctor_id", "days"):
        rank = (row_year, own is not None)  # a later year first; within a year the doctor's own row
        if kind not in found or rank > found[kind][0]:
            found[kind] = (rank, days)
    return {kind: days for kind, (_rank, days) in found.items()}


def leave_balances(*, doctor_id: int, year: int, exclude_id: int | None = None) -> list[LeaveBalance]:
    """Every leave kind's balance for the doctor in `year` (`exclude_id`: a request left out of
    the pending sum, the one being decided)."""
    jan1, dec31 = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    span = ExpressionWrapper(
        Least(F("end_date"), Value(dec31)) - Greatest(F("start_date"), Value(jan1)), output_field=DurationField()
    )
    requests = LeaveRequest.objects.filter(doctor_id=doctor_id, start_date__lte=dec31, end_date__gte=jan1)
    if exclude_id is not None:
        requests = requests.exclude(pk=exclude_id)
    sums = {
        row["kind"]: row
        for row in requests.values("kind").annotate(
            approved=Sum(span, filter=Q(status=DecisionStatus.APPROVED)),
            approved_n=Sum(Value(1), filter=Q(status=DecisionStatus.APPROVED)),
            pending=Sum(span, filter=Q(status=DecisionStatus.PENDING)),
            pending_n=Sum(Value(1), filter=Q(status=DecisionStatus.PENDING)),
        )
    }
    entitled = _entitlements(doctor_id=doctor_id, year=year)

    def days(row, key) -> int:
        # Each request's span is end − start; a request counts its first day too.
        if row is None or row[key] is None:
            return 0
        return row[key].days + (row[f"{key}_n"] or 0)

    return [
        LeaveBalance(kind=kind, label=str(label), year=year, entitled=entitled.get(kind),
                     approved=days(sums.get(kind), "approved"), pending=days(sums.get(kind), "pending"))
        for kind, label in LeaveRequest.Kind.choices
    ]


def leave_over_balance(*, leave: LeaveRequest) -> list[str]:
    """Why approving `leave` would take its kind past the doctor's entitlement, one line per year
    it exceeds (empty when it fits or no entitlement is set)."""
    problems = []
    for year in range(leave.start_date.year, leave.end_date.year + 1):
        balance = next(
            b for b in leave_balances(doctor_id=leave.doctor_id, year=year, exclude_id=leave.pk) if b.kind == leave.kind
        )
        wanted = days_in_year(start=leave.start_date, end=leave.end_date, year=year)
        if balance.remaining is not None and wanted > balance.remaining:
            problems.append(
                _("%(kind)s %(year)s: entitlement %(entitled)s days, %(approved)s already approved, "
                  "%(remaining)s left, this request %(wanted)s days.")
                % {"kind": balance.label, "year": year, "entitled": balance.entitled, "approved": balance.approved,
                   "remaining": max(balance.remaining, 0), "wanted": wanted}
            )
    return problems
