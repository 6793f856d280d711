"""A posting beyond the clinic's target is refused by the service unless confirmed, and the admin
asks for the confirmation before saving."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from staffing.models import Posting
from staffing.services.postings import OVER_TARGET, posting_move
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory, clinic_with_doctors

pytestmark = pytest.mark.django_db

START = datetime.date(2026, 3, 1)


def test_service_refuses_a_third_doctor_unless_confirmed(county_admin):
    full, _ = clinic_with_doctors(2, target_doctors=2)
    third = PostingFactory(facility=FacilityFactory(township=full.township)).doctor
    with pytest.raises(ValidationError) as refused:
        posting_move(doctor=third, facility=full, start_date=START, acting_user=county_admin)
    assert refused.value.error_dict["facility"][0].code == OVER_TARGET
    assert "3" in refused.value.messages[0] and "2" in refused.value.messages[0]
    assert not Posting.objects.filter(doctor=third, facility=full).exists()
    moved = posting_move(doctor=third, facility=full, start_date=START, acting_user=county_admin, confirm_over_target=True)
    assert moved.facility == full


def test_service_allows_a_posting_within_target(county_admin):
    short, _ = clinic_with_doctors(1, target_doctors=2)
    second = PostingFactory(facility=FacilityFactory(township=short.township)).doctor
    assert posting_move(doctor=second, facility=short, start_date=START, acting_user=county_admin).facility == short


def test_admin_warns_then_saves_once_confirmed(client, county_admin):
    client.force_login(county_admin)
    full, _ = clinic_with_doctors(2, target_doctors=2, name="平寨村卫生室")
    third = DoctorFactory()
    data = {"doctor": third.pk, "facility": full.pk, "start_date": "2026-03-01", "end_date": ""}
    url = reverse("admin:staffing_posting_add")
    page = client.post(url, data)
    assert page.status_code == 200
    text = page.content.decode()
    assert "平寨村卫生室已有 2 名医生，目标 2 名" in text
    assert not Posting.objects.filter(doctor=third).exists()
    saved = client.post(url, {**data, "confirm_over_target": "on"})
    assert saved.status_code == 302
    assert Posting.objects.filter(doctor=third, facility=full).exists()


def test_import_template_is_read_back_by_the_importer(client, county_admin):
    import io

    from openpyxl import load_workbook

    from staffing.importing import TEMPLATE_HEADERS, doctors_import_plan

    clinic = FacilityFactory()
    client.force_login(county_admin)
    import_page = client.get(reverse("admin:staffing_doctor_import")).content.decode()
    url = reverse("admin:staffing_doctor_import_template")
    assert url in import_page
    response = client.get(url)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == TEMPLATE_HEADERS
    notes = workbook.worksheets[1]
    assert notes.title == "填写说明"
    assert notes.cell(2, 1).value == "姓名" and notes.cell(2, 3).value == "必填" and notes.cell(2, 4).value == "name"
    plan = doctors_import_plan(upload=io.BytesIO(response.content), filename="t.xlsx", acting_user=county_admin)
    assert plan.ok, plan.errors
    assert len(plan.rows) == 1 and plan.rows[0].doctor is None and plan.rows[0].facility == clinic
    assert clinic.code in [c.value for c in sheet[2]]
