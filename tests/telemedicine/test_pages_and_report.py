"""Phone pages (Django test client) and the department × month report with XLSX export."""

import datetime
import io

import pytest
from openpyxl import load_workbook

from telemedicine.models import ConsultBooking, Slot
from tests.conftest import api_as
from tests.telemedicine.conftest import SHANGHAI, TOMORROW
from tests.telemedicine.factories import booking_payload, make_slot, weekly

pytestmark = pytest.mark.django_db


def test_doctor_finds_a_slot_and_books_it(client, doctor_user, consultant, clock):
    weekly(consultant, 2, "09:00", "10:00")
    client.force_login(doctor_user)
    home = client.get("/m/").content.decode()
    assert "远程会诊" in home and "预约远程会诊" in home

    page = client.get("/m/consult/book/", {"department": consultant.department_id, "date": "2026-12-02"}).content.decode()
    assert "可预约时段" in page and "09:00" in page and consultant.name in page
    slot = Slot.objects.order_by("starts_at").first()

    refused = client.post(f"/m/consult/book/{slot.pk}/", {"patient_name": "韦小兰", "patient_sex": "F", "chief_complaint": "头晕", "urgency": "routine", "mode": "video"})
    assert "请填写患者的出生日期或年龄" in refused.content.decode()

    response = client.post(
        f"/m/consult/book/{slot.pk}/",
        {"patient_name": "韦小兰", "patient_sex": "F", "patient_age": "56", "chief_complaint": "头晕", "urgency": "routine", "mode": "video"},
        follow=True,
    )
    body = response.content.decode()
    assert "会诊申请已提交" in body and "待确认" in body
    booking = ConsultBooking.objects.get()
    assert "已约满" in client.post(
        f"/m/consult/book/{slot.pk}/",
        {"patient_name": "黄大山", "patient_sex": "M", "patient_age": "40", "chief_complaint": "腹痛", "urgency": "urgent", "mode": "video"},
    ).content.decode()
    assert "韦小兰" in client.get("/m/consult/").content.decode()

    # cancel from the detail page
    response = client.post(f"/m/consult/{booking.pk}/cancel/", {"reason": "患者好转"}, follow=True)
    assert "会诊已取消" in response.content.decode()


def test_phone_only_clinic_sees_the_reason(client, db, roles, consultant, clock):
    from tests.telemedicine.factories import village_doctor

    user = village_doctor(telemedicine=False, username="vd_nolink")
    slot = make_slot(consultant, TOMORROW, 9)
    client.force_login(user)
    page = client.post(
        f"/m/consult/book/{slot.pk}/",
        {"patient_name": "韦小兰", "patient_sex": "F", "patient_age": "56", "chief_complaint": "头晕", "urgency": "routine", "mode": "video"},
    ).content.decode()
    assert "只能预约电话会诊" in page


def test_doctor_reschedules_from_the_page(client, doctor_user, consultant, clock):
    from telemedicine.services.slots import slots_materialise

    weekly(consultant, 2, "09:00", "11:00", minutes=60)
    slots_materialise(start=TOMORROW, end=TOMORROW)
    slot, later = Slot.objects.order_by("starts_at")
    booking_id = api_as(doctor_user).post("/api/v1/teleconsult/bookings/", booking_payload(slot), format="json").json()["id"]
    client.force_login(doctor_user)
    page = client.get(f"/m/consult/{booking_id}/reschedule/").content.decode()
    assert "改到此时段" in page and "10:00" in page
    response = client.post(f"/m/consult/{booking_id}/reschedule/", {"slot": later.pk}, follow=True)
    body = response.content.decode()
    assert "会诊已改到新时段" in body and "已改期" in body and "12月2日 09:00 → 12月2日 10:00" in body


def test_consultant_runs_the_day(client, doctor_user, consultant, clock):
    slot = make_slot(consultant, TOMORROW, 9)
    booking_id = api_as(doctor_user).post("/api/v1/teleconsult/bookings/", booking_payload(slot), format="json").json()["id"]
    client.force_login(consultant.user)
    assert client.get("/m/consult/").status_code == 302
    schedule = client.get("/m/consult/schedule/", {"date": "2026-12-02"}).content.decode()
    assert "韦小兰" in schedule and "待确认" in schedule
    assert "确认" in client.post(f"/m/consult/{booking_id}/confirm/", follow=True).content.decode()
    clock.move_to(slot.starts_at - datetime.timedelta(minutes=2))
    client.force_login(consultant.user)
    client.post(f"/m/consult/{booking_id}/start/")
    form = client.get(f"/m/consult/{booking_id}/outcome/").content.decode()
    assert "检查所见" in form and "转诊科室" in form
    response = client.post(
        f"/m/consult/{booking_id}/outcome/",
        {"findings": "高血压 2 级", "advice": "规律服药", "medication_advice": "氨氯地平", "follow_up_date": "2026-12-20"},
        follow=True,
    )
    assert "会诊意见已记录" in response.content.decode()
    # the village doctor reads it
    client.force_login(doctor_user)
    detail = client.get(f"/m/consult/{booking_id}/").content.decode()
    assert "规律服药" in detail and "不转诊" in detail and "2026-12-20" in detail


def test_doctor_cannot_open_consultant_pages(client, doctor_user, clock):
    client.force_login(doctor_user)
    assert client.get("/m/consult/schedule/").status_code == 403


def test_report_per_department_and_month_with_xlsx(client, county_admin, doctor_user, consultant, clock):
    client_api = api_as(doctor_user)
    ids = []
    for hour in (9, 10, 11, 14):
        slot = make_slot(consultant, TOMORROW, hour)
        ids.append(client_api.post("/api/v1/teleconsult/bookings/", booking_payload(slot, patient_name=f"患者{hour}"), format="json").json()["id"])
    consult = api_as(consultant.user)
    consult.post(f"/api/v1/teleconsult/bookings/{ids[0]}/confirm/")
    consult.post(f"/api/v1/teleconsult/bookings/{ids[1]}/confirm/")
    client_api.post(f"/api/v1/teleconsult/bookings/{ids[2]}/cancel/", {"reason": "好转"})
    clock.move_to(datetime.datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI))
    consult.post(f"/api/v1/teleconsult/bookings/{ids[0]}/start/")
    consult.post(f"/api/v1/teleconsult/bookings/{ids[0]}/complete/", {"findings": "x", "advice": "y"})
    clock.move_to(datetime.datetime(2026, 12, 2, 20, 0, tzinfo=SHANGHAI))
    from telemedicine.services.sweeps import bookings_sweep_past

    bookings_sweep_past()

    client.force_login(county_admin)
    page = client.get("/admin/telemedicine/consultbooking/report/", {"start": "2026-12", "end": "2026-12"}).content.decode()
    assert "远程会诊统计（按科室和月份）" in page
    assert consultant.department.name in page
    xlsx = client.get("/admin/telemedicine/consultbooking/report/", {"start": "2026-12", "end": "2026-12", "format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("月份", "机构", "科室", "预约数")
    # 4 bookings: 1 completed (25 h wait), 1 no-show, 1 cancelled by the doctor, 1 cancelled unconfirmed by the system
    assert rows[1] == ("2026-12", consultant.department.facility.name, "内科", 4, 1, 1, 2, 0, 25.0)


def test_report_is_scoped_for_a_township_admin(client, db, roles, doctor_user, consultant, clock):
    from clinics.models import Role
    from tests.factories import TownshipFactory, make_user

    slot = make_slot(consultant, TOMORROW, 9)
    api_as(doctor_user).post("/api/v1/teleconsult/bookings/", booking_payload(slot), format="json")
    outsider = make_user(Role.TOWNSHIP_ADMIN, township=TownshipFactory(), username="far_admin")
    client.force_login(outsider)
    xlsx = client.get("/admin/telemedicine/consultbooking/report/", {"start": "2026-12", "end": "2026-12", "format": "xlsx"})
    assert len(list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))) == 1
