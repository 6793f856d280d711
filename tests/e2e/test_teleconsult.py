"""Teleconsult in a real browser on a phone viewport: a village doctor books a consult, the
consultant confirms, starts and records the outcome, and the doctor reads it."""

import datetime
import zoneinfo
from pathlib import Path

import pytest
import time_machine

from clinics.models import Department, Facility, Role
from clinics.roles import seed_roles
from staffing.rosters.models import CalendarYear
from telemedicine.models import Consultant, ConsultBooking, WeeklyAvailability
from tests.e2e.conftest import PHONE, follow, login, shot
from tests.factories import FacilityFactory, PostingFactory, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def network(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.JITSI_BASE_URL = "https://meet.leye-health.cn"  # the link is only rendered, never opened
    settings.JITSI_APP_SECRET = "an-e2e-secret-of-forty-characters-000000"
    seed_roles({})
    CalendarYear.objects.get_or_create(year=2026)  # slots are offered only in a year with its holiday calendar
    hospital = FacilityFactory(
        kind=Facility.Kind.COUNTY_HOSPITAL, code="CH451028", name="乐业县人民医院", village="", village_kind="", telemedicine_enabled=True
    )
    medicine = Department.objects.create(facility=hospital, name="内科", code="IM")
    Department.objects.create(facility=hospital, name="外科", code="SUR")
    consultant = Consultant.objects.create(department=medicine, name="黄明", title="副主任医师")
    consultant.user = make_user(Role.CONSULTANT, facility=hospital, username="huangming")
    consultant.user.first_name = "黄明"
    consultant.user.save()
    consultant.save()
    WeeklyAvailability.objects.create(
        consultant=consultant, weekday=2, start_time=datetime.time(9, 0), end_time=datetime.time(10, 0),
        slot_minutes=20, places=1, valid_from=datetime.date(2026, 1, 1),
    )
    clinic = FacilityFactory(name="甘田镇达道村卫生室", telemedicine_enabled=True)
    posting = PostingFactory(facility=clinic, doctor__name="韦秀英")
    doctor_user = make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="weixiuying")
    return consultant, doctor_user


CONSULT_SHOTS = Path("/tmp/shots/phone")


def consult_shot(page, name: str) -> None:
    CONSULT_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(CONSULT_SHOTS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the phone page must not scroll sideways"


def test_village_doctor_books_and_consultant_records_outcome(live_server, browser, phone, network):
    consultant, _doctor_user = network
    with time_machine.travel(datetime.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI), tick=True) as clock:
        login(phone, live_server.url, "weixiuying")
        follow(phone, "a[data-menu=teleconsult_book]")
        # the date field holds the first day with free slots, as yyyy-MM-dd (the browser shows it)
        assert phone.input_value("#id_date") == "2026-12-02"
        assert phone.evaluate("document.querySelector('#id_date').valueAsDate !== null")
        # ... and its slots are listed at once, of every department, the day named in words
        assert "2026年12月2日 星期三" in phone.inner_text("#open-slots h2")
        assert "黄明" in phone.inner_text("table.slots") and phone.locator("table.slots [data-department]").count() == 3
        no_sideways_scroll(phone)
        consult_shot(phone, "consult-01-booking-date-default")
        phone.select_option("#id_department", label="乐业县人民医院 · 内科")
        follow(phone, "#slot-search button[type=submit]")
        phone.wait_for_selector("table.slots")
        assert "黄明" in phone.inner_text("table.slots")
        assert phone.input_value("#id_date") == "2026-12-02"
        no_sideways_scroll(phone)
        shot(phone, "teleconsult-01-doctor-open-slots")
        consult_shot(phone, "consult-02-booking-slots-loaded")

        follow(phone, "table.slots tr[data-slot] >> nth=0 >> a.button")
        phone.fill("#id_patient_name", "罗阿婆")
        phone.check("#id_patient_sex_1")  # 女
        phone.fill("#id_patient_age", "67")
        phone.check("#id_poverty_household")
        phone.fill("#id_chief_complaint", "反复胸闷气短一月，活动后加重")
        phone.select_option("#id_urgency", "urgent")
        no_sideways_scroll(phone)
        shot(phone, "teleconsult-02-doctor-booking-form")
        follow(phone, "#booking-form button[type=submit]")
        phone.wait_for_selector("#consult-summary")
        body = phone.inner_text("body")
        assert "会诊申请已提交" in body and "待确认" in body and "罗阿婆" in body
        assert "视频会议室只对已确认的会诊开放" in body
        no_sideways_scroll(phone)
        shot(phone, "teleconsult-03-doctor-booked")
        booking = ConsultBooking.objects.get()

        # the consultant, on their own phone, the next morning five minutes before the slot
        clock.move_to(datetime.datetime(2026, 12, 2, 8, 55, tzinfo=SHANGHAI))
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
        specialist = context.new_page()
        login(specialist, live_server.url, "huangming")
        follow(specialist, "a[data-menu=teleconsult_schedule]")
        assert "罗阿婆" in specialist.inner_text("body") and "紧急" in specialist.inner_text("body")
        shot(specialist, "teleconsult-04-consultant-schedule")
        follow(specialist, f"[data-booking='{booking.pk}'] a.button")
        follow(specialist, "#confirm")
        assert "已确认会诊" in specialist.inner_text("body")
        assert "进入视频会诊" in specialist.inner_text("#video")
        assert "?jwt=" in specialist.get_attribute("#join-video", "href")
        follow(specialist, "#start")
        assert "会诊已开始" in specialist.inner_text("body")
        shot(specialist, "teleconsult-05-consultant-started-video-open")
        follow(specialist, "#record-outcome")
        specialist.fill("#id_findings", "心率 96 次/分，双肺底少许湿啰音，下肢轻度水肿")
        specialist.fill("#id_advice", "考虑慢性心功能不全，建议到县人民医院内科进一步检查心脏彩超")
        specialist.fill("#id_medication_advice", "暂予呋塞米 20 mg 每日一次，注意监测血钾")
        specialist.check("#id_referral")
        specialist.select_option("#id_referral_department", label="内科")
        specialist.fill("#id_follow_up_date", "2026-12-09")
        no_sideways_scroll(specialist)
        shot(specialist, "teleconsult-06-consultant-outcome-form")
        follow(specialist, "#outcome-form button[type=submit]")
        assert "会诊意见已记录" in specialist.inner_text("body")
        assert "已完成" in specialist.inner_text("#status")
        shot(specialist, "teleconsult-07-consultant-completed")
        context.close()

        # the village doctor reads the outcome
        login(phone, live_server.url, "weixiuying")
        phone.goto(f"{live_server.url}/m/consult/{booking.pk}/")
        outcome = phone.inner_text("#outcome")
        assert "县人民医院内科" in outcome and "呋塞米" in outcome and "2026-12-09" in outcome
        no_sideways_scroll(phone)
        shot(phone, "teleconsult-08-doctor-reads-outcome")

    booking.refresh_from_db()
    assert booking.status == "completed" and booking.outcome.referral
    assert list(booking.events.values_list("kind", flat=True)) == ["requested", "confirmed", "started", "completed"]
