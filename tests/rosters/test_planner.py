"""The planner on plain data: no database (these tests take no `db` fixture)."""

import datetime
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from staffing.rosters import planner
from staffing.rosters.planner import DAY_DUTY, HOLIDAY, ON_CALL, WEEKEND, WORKDAY, Stint

D = datetime.date
OCT = {D(2026, 10, n): (HOLIDAY if n <= 7 else WORKDAY if n == 10 else WEEKEND if D(2026, 10, n).weekday() >= 5 else WORKDAY)
       for n in range(1, 32)}


def counts_for(*doctors, **preset):
    return {d: dict(preset.get(str(d), planner.empty_counts())) for d in doctors}


def test_a_two_doctor_october_shares_national_day_and_both_work_weekdays():
    stints = [Stint(1, D(2026, 10, 1), D(2026, 10, 31)), Stint(2, D(2026, 10, 1), D(2026, 10, 31))]
    counts = counts_for(1, 2)
    plan = planner.plan_clinic_month(kinds=OCT, stints=stints, unavailable=set(), counts=counts)
    assert plan.gaps == []
    on_call = [(day, doctor) for doctor, day, duty, _kind in plan.duties if duty == ON_CALL]
    assert sorted(Counter(d for day, d in on_call if day.day <= 7).values()) == [3, 4]
    saturday = sorted((doctor, duty) for doctor, day, duty, _kind in plan.duties if day == D(2026, 10, 10))
    assert saturday == [(1, DAY_DUTY), (2, DAY_DUTY)]  # the make-up Saturday is a workday for both
    assert counts[1][HOLIDAY] + counts[2][HOLIDAY] == 7
    assert counts[1][WEEKEND] + counts[2][WEEKEND] == sum(1 for k in OCT.values() if k == WEEKEND)


def test_the_doctor_with_fewer_on_call_days_this_year_goes_first():
    kinds = {D(2026, 10, 3): HOLIDAY}
    stints = [Stint(1, D(2026, 10, 1), D(2026, 10, 31)), Stint(2, D(2026, 10, 1), D(2026, 10, 31))]
    counts = {1: {WEEKEND: 0, HOLIDAY: 5}, 2: {WEEKEND: 9, HOLIDAY: 2}}
    plan = planner.plan_clinic_month(kinds=kinds, stints=stints, unavailable=set(), counts=counts)
    assert plan.duties == [(2, D(2026, 10, 3), ON_CALL, HOLIDAY)]
    assert counts[2][HOLIDAY] == 3 and counts[1][HOLIDAY] == 5


def test_leave_and_postings_clip_who_is_available_and_an_empty_day_is_a_gap():
    kinds = {D(2026, 10, 12): WORKDAY, D(2026, 10, 13): WORKDAY, D(2026, 10, 17): WEEKEND}
    stints = [Stint(1, D(2026, 10, 1), D(2026, 10, 12)), Stint(2, D(2026, 10, 13), D(2026, 10, 31))]
    unavailable = {(2, D(2026, 10, 17))}
    plan = planner.plan_clinic_month(kinds=kinds, stints=stints, unavailable=unavailable, counts=counts_for(1, 2))
    assert plan.duties == [(1, D(2026, 10, 12), DAY_DUTY, WORKDAY), (2, D(2026, 10, 13), DAY_DUTY, WORKDAY)]
    assert plan.gaps == [(D(2026, 10, 17), WEEKEND)]


def test_choose_replacement_weighs_the_days_it_already_gave():
    counts = {1: {HOLIDAY: 1}, 2: {HOLIDAY: 1}}
    assert planner.choose_replacement([2, 1], HOLIDAY, counts) == 1  # equal counts: the lower id
    assert planner.choose_replacement([1, 2], HOLIDAY, counts) == 2  # 1 now has one more
    assert counts == {1: {HOLIDAY: 2}, 2: {HOLIDAY: 2}}
    assert planner.choose_replacement([], HOLIDAY, counts) is None
    fresh: dict = {}
    assert planner.choose_replacement([7], WEEKEND, fresh) == 7 and fresh == {7: {WEEKEND: 1, HOLIDAY: 0}}


@given(
    doctors=st.integers(min_value=1, max_value=5),
    away=st.sets(st.tuples(st.integers(min_value=1, max_value=5), st.sampled_from(sorted(OCT))), max_size=40),
)
def test_every_day_is_covered_once_or_is_a_gap_and_on_call_stays_fair(doctors, away):
    ids = list(range(1, doctors + 1))
    stints = [Stint(d, D(2026, 10, 1), D(2026, 10, 31)) for d in ids]
    counts = counts_for(*ids)
    plan = planner.plan_clinic_month(kinds=OCT, stints=stints, unavailable=away, counts=counts)
    covered = {day for _d, day, _duty, _k in plan.duties}
    assert covered | {day for day, _k in plan.gaps} == set(OCT) and not covered & {day for day, _k in plan.gaps}
    for doctor, day, duty, kind in plan.duties:
        assert (doctor, day) not in away
        assert (duty == DAY_DUTY) == (kind == WORKDAY)
    on_call_days = Counter(day for _d, day, duty, _k in plan.duties if duty == ON_CALL)
    assert set(on_call_days.values()) <= {1}
    if not away:  # nobody away: weekend and holiday duties differ by at most one between doctors
        for kind in (WEEKEND, HOLIDAY):
            per_doctor = [counts[d][kind] for d in ids]
            assert max(per_doctor) - min(per_doctor) <= 1


def test_the_planner_imports_no_django():
    root = Path(__file__).resolve().parents[2]
    code = "import sys; import staffing.rosters.planner; print(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
