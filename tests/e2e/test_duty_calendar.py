import datetime
import zoneinfo

import pytest
import time_machine

from clinics.models import Role
from core.months import month_start, next_month
from staffing.rosters.models import DutyDay
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.holidays import holiday_year_load
from staffing.rosters.services.leave import leave_decide, leave_request_create
from staffing.rosters.services.publishing import roster_publish
from staffing.selectors import today
from tests.e2e.conftest import follow, login, shot
from tests.factories import PostingFactory, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def national_day_week():
    """The page shows "this month and next": pin the clock in the National Day week of 2026."""
    with time_machine.travel(datetime.datetime(2026, 10, 8, 9, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")), tick=True):
        yield


def test_doctor_sees_duty_calendar_with_holidays_on_a_phone(live_server, phone, national_day_week):
    holiday_year_load(year=2026)
    posting = PostingFactory(doctor__name="韦秀英", facility__name="同乐村卫生室")
    colleague = PostingFactory(facility=posting.facility, doctor__name="黄德明").doctor
    make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="weixiuying")
    this_month = month_start(today())
    for month in (this_month, next_month(this_month)):
        roster_generate(month=month)
    roster_publish(month=this_month, acting_user=None)
    leave = leave_request_create(
        doctor=colleague, kind="training", start_date=this_month.replace(day=10), end_date=this_month.replace(day=10),
        reason="县级培训", acting_user=None,
    )
    leave_decide(leave=leave, approve=True, acting_user=None)

    login(phone, live_server.url, "weixiuying")
    follow(phone, "a[data-menu=duty]")
    phone.wait_for_selector("table.cal")

    body = phone.inner_text("body")
    assert "我的值班" in body and "韦秀英" in body
    assert "2026年10月" in body and "2026年11月" in body
    assert "国庆节" in body and "补班" in body
    on_call = DutyDay.objects.filter(doctor=posting.doctor, date__gte=this_month, date__lt=next_month(this_month), duty="on_call").count()
    assert f"值班 {on_call} 天" in body
    assert phone.locator(".d.on_call").count() >= on_call
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the duty calendar must not scroll sideways on a phone"
    shot(phone, "duty-calendar-village-doctor")

    follow(phone, "a[href$='/m/duty/leave/']")
    phone.select_option("#id_kind", "annual")
    phone.fill("#id_start_date", next_month(this_month).replace(day=3).isoformat())
    phone.fill("#id_end_date", next_month(this_month).replace(day=2).isoformat())
    phone.fill("#id_reason", "探亲")
    follow(phone, "form.card button[type=submit]")
    assert "结束日期不能早于开始日期" in phone.inner_text("body")
    phone.fill("#id_end_date", next_month(this_month).replace(day=4).isoformat())
    follow(phone, "form.card button[type=submit]")
    phone.wait_for_selector("table.cal")
    assert "请假申请已提交乡镇卫生院审批" in phone.inner_text("body")
    shot(phone, "duty-calendar-leave-requested")


def test_next_month_in_a_year_without_a_holiday_calendar_is_said_not_guessed(live_server, phone):
    """In December with only 2026 loaded: December shows its duties; January 2027 says its
    holiday calendar is missing and marks no day as rest or holiday (nothing guessed)."""
    with time_machine.travel(datetime.datetime(2026, 12, 3, 9, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")), tick=True):
        holiday_year_load(year=2026)
        posting = PostingFactory(doctor__name="韦秀英", facility__name="同乐村卫生室")
        PostingFactory(facility=posting.facility, doctor__name="黄德明")
        make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="weixiuying")
        december = datetime.date(2026, 12, 1)
        roster_generate(month=december)
        roster_publish(month=december, acting_user=None)

        login(phone, live_server.url, "weixiuying")
        follow(phone, "a[data-menu=duty]")
        body = phone.inner_text("body")
        assert "2026年12月" in body and "2027年1月" in body
        assert "2027 年的节假日安排尚未录入" in body
        # January's days carry no guessed kind: Saturday 2 January is not drawn as a rest day, 1 January not as a holiday
        assert phone.get_attribute("td[data-date='2026-12-05']", "class").startswith("rest")
        assert phone.get_attribute("td[data-date='2027-01-02']", "class") == ""
        assert phone.get_attribute("td[data-date='2027-01-01']", "class") == ""
        shot(phone, "duty-calendar-2027-not-loaded")
