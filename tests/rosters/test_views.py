import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from clinics.models import Role
from staffing.rosters.models import CalendarFeed, CalendarYear, DutyDay, LeaveRequest, SwapRequest
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.publishing import roster_publish
from tests.factories import clinic_with_doctors, make_user

D = datetime.date
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def doctor_client(calendar_2026, roles, client):
    clinic, (a, b) = clinic_with_doctors(2)
    user = make_user(Role.VILLAGE_DOCTOR, doctor=a)
    make_user(Role.VILLAGE_DOCTOR, doctor=b)  # a colleague answers a swap on the phone
    roster_generate(month=D(2026, 10, 1))
    roster_generate(month=D(2026, 11, 1))
    roster_publish(month=D(2026, 10, 1), acting_user=None)
    client.force_login(user)
    with time_machine.travel(datetime.datetime(2026, 9, 30, 9, 0, tzinfo=SHANGHAI), tick=False):
        yield client, a, b, clinic


def test_duty_page_shows_this_month_and_next_with_holidays(doctor_client, django_assert_max_num_queries):
    client, a, _b, _clinic = doctor_client
    with time_machine.travel(datetime.datetime(2026, 10, 8, 9, 0, tzinfo=SHANGHAI), tick=False):
        with django_assert_max_num_queries(25):
            response = client.get(reverse("rosters:my-duty"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "2026年10月" in page and "2026年11月" in page
    assert "国庆节" in page and "补班" in page  # 10 October marked as a make-up workday
    assert "本月排班尚未发布" in page  # November is still a draft
    on_call = DutyDay.objects.filter(doctor=a, date__month=10, duty="on_call").count()
    assert f"值班 {on_call} 天" in page
    assert "/m/duty/ical/" in page


def test_ical_feed_at_an_unguessable_address(doctor_client):
    client, a, _b, _clinic = doctor_client
    client.get(reverse("rosters:my-duty"))
    token = CalendarFeed.objects.get(doctor=a).token
    assert len(token) >= 40
    client.logout()
    response = client.get(reverse("rosters:ical", args=[token]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(response.content).walk("VEVENT")]
    assert len(events) == DutyDay.objects.filter(doctor=a, roster__status="published").count()
    assert any("国庆节" in str(e["SUMMARY"]) for e in events)
    assert client.get(reverse("rosters:ical", args=["not-a-token"])).status_code == 404


def test_feed_reset_revokes_the_old_address(doctor_client):
    client, a, _b, _clinic = doctor_client
    client.get(reverse("rosters:my-duty"))
    old = CalendarFeed.objects.get(doctor=a).token
    client.post(reverse("rosters:feed-reset"))
    assert client.get(reverse("rosters:ical", args=[old])).status_code == 404


def test_leave_form_and_errors_in_chinese(doctor_client):
    client, a, _b, _clinic = doctor_client
    bad = client.post(reverse("rosters:leave-new"), {"kind": "annual", "start_date": "2026-10-20", "end_date": "2026-10-19", "reason": "x"})
    assert "结束日期不能早于开始日期" in bad.content.decode()
    good = client.post(reverse("rosters:leave-new"), {"kind": "annual", "start_date": "2026-10-20", "end_date": "2026-10-21", "reason": "探亲"})
    assert good.status_code == 302
    leave = LeaveRequest.objects.get(doctor=a)
    assert leave.status == "pending" and leave.requested_by.doctor == a
    client.post(reverse("rosters:leave-withdraw", args=[leave.pk]))
    leave.refresh_from_db()
    assert leave.status == "cancelled"


def test_swap_form_offers_my_on_call_days_and_colleague(doctor_client):
    client, a, b, _clinic = doctor_client
    page = client.get(reverse("rosters:swap-new")).content.decode()
    mine = DutyDay.objects.filter(doctor=a, duty="on_call").order_by("date").first()
    assert mine.date.isoformat() in page and b.name in page
    response = client.post(reverse("rosters:swap-new"), {"give_date": mine.date.isoformat(), "counterpart": b.pk, "reason": "家里有事"})
    assert response.status_code == 302
    assert SwapRequest.objects.get().counterpart == b


def test_non_doctor_gets_a_403_in_chinese(db, county_admin, client):
    client.force_login(county_admin)
    response = client.get(reverse("rosters:my-duty"))
    assert response.status_code == 403


def test_leave_into_a_year_without_holiday_calendar_is_sent_with_a_warning(doctor_client):
    client, a, _b, _clinic = doctor_client
    assert not CalendarYear.objects.filter(year=2027).exists()
    answer = client.post(
        reverse("rosters:leave-new"),
        {"kind": "annual", "start_date": "2026-12-30", "end_date": "2027-01-02", "reason": "回家"},
        follow=True,
    )
    page = answer.content.decode()
    assert LeaveRequest.objects.filter(doctor=a, start_date="2026-12-30").exists()
    assert "2027年的节假日安排尚未导入" in page
    # A request inside loaded years says nothing of the kind.
    again = client.post(
        reverse("rosters:leave-new"),
        {"kind": "sick", "start_date": "2026-11-02", "end_date": "2026-11-02", "reason": "感冒"},
        follow=True,
    )
    assert "节假日安排尚未导入" not in again.content.decode()
