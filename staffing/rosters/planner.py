"""The roster planning algorithm, on plain data: no database, no Django.

`plan_clinic_month` plans one clinic's month from each day's kind, the doctors' postings (clipped
to the month), the (doctor, day) pairs they cannot work and this year's on-call counts; the
services load those and write the result. `choose_replacement` picks who takes over an on-call
day when a doctor's leave is approved. The values below are the ones the models store
(`DayKind`, `DutyDay.Duty`), declared here so that this module needs nothing else.
"""

import datetime
from dataclasses import dataclass, field

# Kinds of day.
WORKDAY = "workday"
WEEKEND = "weekend"
HOLIDAY = "holiday"
# Duties.
DAY_DUTY = "day"
ON_CALL = "on_call"

Counts = dict[int, dict[str, int]]  # doctor id -> {WEEKEND: n, HOLIDAY: n}


@dataclass(frozen=True)
class Stint:
    """A doctor's posting at a clinic, clipped to the month."""

    doctor_id: int
    start: datetime.date
    end: datetime.date

    def covers(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end


@dataclass
class ClinicPlan:
    duties: list[tuple[int, datetime.date, str, str]] = field(default_factory=list)  # doctor, date, duty, kind
    gaps: list[tuple[datetime.date, str]] = field(default_factory=list)  # date, kind


def empty_counts() -> dict[str, int]:
    return {WEEKEND: 0, HOLIDAY: 0}


def choose_on_call(candidates: list[int], kind: str, counts: Counts, last: dict[int, datetime.date]) -> int:
    """The doctor with the fewest on-call days of this kind (weekend or holiday) this year, then
    fewest of the other kind, then the one on call least recently, then the lowest id: fair and
    deterministic."""
    other = HOLIDAY if kind == WEEKEND else WEEKEND
    never = datetime.date.min
    return min([(counts[d][kind], counts[d][other], last.get(d, never), d) for d in candidates])[3]


def plan_clinic_month(
    *,
    kinds: dict[datetime.date, str],
    stints: list[Stint],
    unavailable: set[tuple[int, datetime.date]],
    counts: Counts,
) -> ClinicPlan:
    """One clinic's month, day by day in the order of `kinds`: on a workday every available
    doctor has a day duty; on a weekend day or public holiday one of them is on call
    (`choose_on_call`); a day with nobody available is a gap. `counts` (on-call days this year
    before the month, per doctor and kind; every stint's doctor must be in it) is updated as days
    are planned. `unavailable` may hold other clinics' doctors too; only this clinic's are read."""
    plan = ClinicPlan()
    if not kinds:
        return plan
    last: dict[int, datetime.date] = {}
    first_day, last_day = min(kinds), max(kinds)
    doctors = {s.doctor_id for s in stints}
    # The usual month: every doctor posted all month and nobody away. Then the same doctors are
    # available every day, and the per-day test below (the general case) is skipped.
    steady = all(s.start <= first_day and last_day <= s.end for s in stints) and not any(
        (doctor_id, day) in unavailable for doctor_id in doctors for day in kinds
    )
    always = sorted(doctors)
    duties, gaps = plan.duties, plan.gaps
    for day, kind in kinds.items():
        if steady:
            available = always
        else:
            available = sorted({s.doctor_id for s in stints if s.covers(day) and (s.doctor_id, day) not in unavailable})
        if not available:
            gaps.append((day, kind))
        elif kind == WORKDAY:
            duties.extend([(doctor_id, day, DAY_DUTY, kind) for doctor_id in available])
        else:
            doctor_id = available[0] if len(available) == 1 else choose_on_call(available, kind, counts, last)
            counts[doctor_id][kind] += 1
            last[doctor_id] = day
            duties.append((doctor_id, day, ON_CALL, kind))
    return plan


def choose_replacement(candidates: list[int], kind: str, counts: dict[int, dict[str, int]]) -> int | None:
    """Who takes over an on-call day of `kind` from a doctor on leave: the candidate with the
    fewest on-call days of that kind this year, then the lowest id; None when there is nobody.
    The chosen doctor's count goes up by one, so the next day of the same leave weighs it."""
    if not candidates:
        return None
    chosen = min(candidates, key=lambda d: (counts.get(d, {}).get(kind, 0), d))
    row = counts.setdefault(chosen, empty_counts())
    row[kind] = row.get(kind, 0) + 1
    return chosen
