import datetime
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from staffing.rosters.exceptions import CalendarMissing
from staffing.rosters.models import CoverageGap, DutyDay, LeaveRequest, RosterMonth
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.publishing import roster_publish
from tests.factories import PostingFactory, clinic_with_doctors

D = datetime.date


def roster_of(clinic, month):
    return list(
        DutyDay.objects.filter(facility=clinic, date__year=month.year, date__month=month.month)
        .order_by("date", "doctor_id")
        .values_list("date", "doctor_id", "duty", "day_kind")
    )


def test_october_2026_national_day_week_and_make_up_saturday(calendar_2026):
    clinic, (a, b) = clinic_with_doctors(2)
    roster_generate(month=D(2026, 10, 1))
    rows = roster_of(clinic, D(2026, 10, 1))
    by_day = {}
    for day, doctor_id, duty, kind in rows:
        by_day.setdefault(day, []).append((doctor_id, duty, kind))
    for n in range(1, 8):  # 1–7 October: one doctor on call, a holiday
        assert len(by_day[D(2026, 10, n)]) == 1
        assert by_day[D(2026, 10, n)][0][1:] == ("on_call", "holiday")
    holiday_split = Counter(d for n in range(1, 8) for d, *_ in by_day[D(2026, 10, n)])
    assert sorted(holiday_split.values()) == [3, 4], "National Day is shared, not one person's"
    # Saturday 10 October is a make-up workday: both doctors work a day duty.
    assert sorted(by_day[D(2026, 10, 10)]) == sorted([(a.pk, "day", "workday"), (b.pk, "day", "workday")])
    # An ordinary weekend: one on call.
    assert [x[1:] for x in by_day[D(2026, 10, 11)]] == [("on_call", "weekend")]
    assert len(by_day) == 31
    assert not CoverageGap.objects.exists()


def test_spring_festival_2026_make_up_saturdays(calendar_2026):
    clinic, _doctors = clinic_with_doctors(2)
    roster_generate(month=D(2026, 2, 1))
    kinds = {day: kind for day, _d, _duty, kind in roster_of(clinic, D(2026, 2, 1))}
    assert kinds[D(2026, 2, 14)] == "workday" and kinds[D(2026, 2, 28)] == "workday"
    assert [d.day for d, k in sorted(kinds.items()) if k == "holiday"] == list(range(15, 24))
    day_duties = [r for r in roster_of(clinic, D(2026, 2, 1)) if r[0] == D(2026, 2, 14)]
    assert len(day_duties) == 2


def test_missing_year_fails_and_writes_nothing(calendar_2026):
    clinic_with_doctors(2)
    with pytest.raises(CalendarMissing) as excinfo:
        roster_generate(month=D(2027, 1, 1))
    assert "2027" in excinfo.value.messages[0]
    assert not RosterMonth.objects.exists()
    with pytest.raises(CommandError, match="2027"):
        call_command("generate_roster", "--month", "2027-01")


def test_regeneration_is_idempotent_and_published_months_are_kept(calendar_2026):
    clinic, _doctors = clinic_with_doctors(2)
    first = roster_generate(month=D(2026, 10, 1))
    rows = roster_of(clinic, D(2026, 10, 1))
    again = roster_generate(month=D(2026, 10, 1))
    assert roster_of(clinic, D(2026, 10, 1)) == rows
    assert (first.created, again.created, again.replaced) == (1, 0, 1)
    assert RosterMonth.objects.count() == 1
    roster_publish(month=D(2026, 10, 1), acting_user=None)
    ids = set(DutyDay.objects.values_list("pk", flat=True))
    third = roster_generate(month=D(2026, 10, 1))
    assert third.skipped_published == 1 and third.duties == 0
    assert set(DutyDay.objects.values_list("pk", flat=True)) == ids


def test_mid_month_join_and_leave_are_rostered_only_inside_the_posting(calendar_2026):
    clinic, (a,) = clinic_with_doctors(1)
    a.postings.update(end_date=D(2026, 10, 20))
    joiner = PostingFactory(facility=clinic, start_date=D(2026, 10, 15), doctor__hire_date=D(2026, 10, 15)).doctor
    roster_generate(month=D(2026, 10, 1))
    a_days = {r[0] for r in roster_of(clinic, D(2026, 10, 1)) if r[1] == a.pk}
    j_days = {r[0] for r in roster_of(clinic, D(2026, 10, 1)) if r[1] == joiner.pk}
    assert max(a_days) <= D(2026, 10, 20)
    assert min(j_days) >= D(2026, 10, 15)
    assert not CoverageGap.objects.exists()


def test_generate_roster_command(calendar_2026, capsys):
    clinic, _doctors = clinic_with_doctors(2)
    call_command("generate_roster", "--month", "2026-10", "--clinic", clinic.code)
    assert "1 clinics" in capsys.readouterr().out
    with pytest.raises(CommandError, match="2026-10"):
        call_command("generate_roster", "--month", "October")


def _year_counts(clinic):
    counts = Counter()
    for doctor_id, kind in DutyDay.objects.filter(facility=clinic, duty="on_call").values_list("doctor_id", "day_kind"):
        counts[(doctor_id, kind)] += 1
    return counts


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doctors=st.integers(min_value=2, max_value=3), months=st.permutations(range(1, 13)).map(lambda p: sorted(p[:6])))
@pytest.mark.django_db
def test_fairness_over_the_year_property(calendar_2026, doctors, months):
    """Whatever months of 2026 are planned (in order, earlier months counting), each doctor's
    weekend and holiday on-call counts differ by at most 1 within the clinic."""
    DutyDay.objects.all().delete()
    CoverageGap.objects.all().delete()
    RosterMonth.objects.all().delete()
    clinic, staff = clinic_with_doctors(doctors)
    for month in months:
        roster_generate(month=D(2026, month, 1), facility=clinic)
        counts = _year_counts(clinic)
        for kind in ("weekend", "holiday"):
            values = [counts[(d.pk, kind)] for d in staff]
            assert max(values) - min(values) <= 1, (kind, month, values)
    LeaveRequest.objects.all().delete()


def test_generation_queries_do_not_grow_with_clinics(calendar_2026):
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ContentType.objects.get_for_model(RosterMonth)  # cached for the process after the first call

    def queries_for(extra_clinics):
        for _ in range(extra_clinics):
            clinic_with_doctors(2)
        with CaptureQueriesContext(connection) as first:
            roster_generate(month=D(2026, 11, 1))
        with CaptureQueriesContext(connection) as again:
            roster_generate(month=D(2026, 11, 1))
        return len(first.captured_queries), len(again.captured_queries)

    small = queries_for(2)
    RosterMonth.objects.all().delete()
    large = queries_for(10)
    assert DutyDay.objects.filter(date__month=11).count() == 12 * (2 * 21 + 9)
    assert large == small
