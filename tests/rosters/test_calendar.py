import datetime

import pytest
from django.core.management import call_command

from staffing.rosters.exceptions import CalendarMissing
from staffing.rosters.models import CalendarYear, HolidayDay
from staffing.rosters.selectors import day_kinds, holidays_between, is_rest_day
from staffing.rosters.services.holidays import holiday_calendar_import, holiday_year_load

D = datetime.date


def test_national_day_week_2026_and_its_make_up_saturday(calendar_2026):
    for n in range(1, 8):
        assert is_rest_day(D(2026, 10, n)), f"10-{n} is a National Day holiday"
    assert not is_rest_day(D(2026, 10, 10)), "Saturday 10 October is a make-up workday"
    assert not is_rest_day(D(2026, 9, 20)), "Sunday 20 September is a make-up workday"
    assert is_rest_day(D(2026, 10, 11))  # an ordinary Sunday
    assert not is_rest_day(D(2026, 10, 9))  # an ordinary Friday
    entries = holidays_between(start=D(2026, 10, 1), end=D(2026, 10, 31))
    assert entries[D(2026, 10, 1)].name == "国庆节"
    assert entries[D(2026, 10, 10)].kind == HolidayDay.Kind.MAKEUP_WORKDAY


def test_spring_festival_2026_make_up_saturdays(calendar_2026):
    kinds, _entries = day_kinds(start=D(2026, 2, 1), end=D(2026, 2, 28))
    assert kinds[D(2026, 2, 14)] == "workday"
    assert kinds[D(2026, 2, 28)] == "workday"
    assert [d.day for d, k in kinds.items() if k == "holiday"] == list(range(15, 24))
    assert kinds[D(2026, 2, 7)] == "weekend"


def test_a_year_without_calendar_fails_with_a_message_naming_it(calendar_2026):
    with pytest.raises(CalendarMissing) as excinfo:
        is_rest_day(D(2027, 1, 1))
    message = excinfo.value.messages[0]
    assert "2027" in message and "holidays --load 2027" in message and "--import-csv" in message
    with pytest.raises(CalendarMissing):
        day_kinds(start=D(2026, 12, 30), end=D(2027, 1, 2))


def test_loading_is_idempotent_and_keeps_admin_corrections(db):
    holiday_year_load(year=2026)
    HolidayDay.objects.filter(date=D(2026, 10, 1)).update(name="国庆节（已核对）")
    year, loaded = holiday_year_load(year=2026)
    assert not loaded
    assert HolidayDay.objects.get(date=D(2026, 10, 1)).name == "国庆节（已核对）"
    assert HolidayDay.objects.filter(date__year=2026).count() == 33 + 6
    assert year.source == CalendarYear.Source.PACKAGE


def test_csv_import_of_a_new_year_and_rejected_rows(db):
    good = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,调休,春节\n".encode()
    report = holiday_calendar_import(upload=good, filename="2027.csv")
    assert report.ok and report.years == [2027] and report.days == 2
    assert is_rest_day(D(2027, 1, 1)) and not is_rest_day(D(2027, 2, 6))

    bad = "date,kind,name\n2028-01-01,holiday,元旦\n2028-13-01,holiday,x\n2028-01-03,makeup_workday,\n".encode()
    report = holiday_calendar_import(upload=bad, filename="2028.csv")
    assert not report.ok
    assert [n for n, _ in report.errors] == [3, 4]
    assert "YYYY-MM-DD" in report.errors[0][1] or "年" in report.errors[0][1]
    assert not CalendarYear.objects.filter(year=2028).exists()


def test_holidays_command_status_and_load(db, capsys):
    call_command("holidays", "--load", "2025")
    call_command("holidays", "--status")
    out = capsys.readouterr().out
    assert "2025" in out and "make-up" in out


def test_seed_steps_are_idempotent(db):
    import zoneinfo

    import time_machine

    from staffing.rosters.models import RosterMonth
    from staffing.rosters.seeding import seed_demo_rosters, seed_holidays
    from tests.factories import clinic_with_doctors

    clinic_with_doctors(2)
    with time_machine.travel(datetime.datetime(2026, 11, 20, 9, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")), tick=False):
        first: dict = {}
        seed_holidays(first)
        seed_demo_rosters(first)
        again: dict = {}
        seed_holidays(again)
        seed_demo_rosters(again)
    assert first["holiday calendar year"]["created"] == 23 and again["holiday calendar year"]["created"] == 0
    assert first["roster month"] == {"created": 3, "existing": 0}
    assert again["roster month"] == {"created": 0, "existing": 3}
    assert dict(RosterMonth.objects.values_list("month", "status")) == {
        D(2026, 10, 1): "published", D(2026, 11, 1): "published", D(2026, 12, 1): "draft"
    }
