"""The clinic's admin page lists its doctors and coverage; no 删除 on a clinic; the doctor list
finds doctors by their clinic's name or code and their township's name."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from clinics.models import Role
from tests.factories import (
    DoctorFactory,
    FacilityFactory,
    PostingFactory,
    TownshipFactory,
    clinic_with_doctors,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_doctor_search_matches_clinic_name_code_and_township(client, county_admin):
    client.force_login(county_admin)
    township = TownshipFactory(name="花坪镇")
    pingzhai = FacilityFactory(name="平寨村卫生室", township=township)
    other = FacilityFactory(name="长乐村卫生室")
    here = PostingFactory(facility=pingzhai, doctor=DoctorFactory(name="韦平寨医生")).doctor
    there = PostingFactory(facility=other, doctor=DoctorFactory(name="黄长乐医生")).doctor
    url = reverse("admin:staffing_doctor_changelist")
    for term in ["平寨", pingzhai.code, "花坪"]:
        page = client.get(url, {"q": term}).content.decode()
        assert here.name in page, term
        assert there.name not in page, term


def test_doctor_search_stays_in_reach(client, roles):
    mine, theirs = TownshipFactory(), TownshipFactory()
    clinic_mine = FacilityFactory(name="平寨村卫生室", township=mine)
    clinic_theirs = FacilityFactory(name="平寨二村卫生室", township=theirs)
    inside = PostingFactory(facility=clinic_mine, doctor=DoctorFactory(name="内医生")).doctor
    outside = PostingFactory(facility=clinic_theirs, doctor=DoctorFactory(name="外医生")).doctor
    client.force_login(make_user(Role.TOWNSHIP_ADMIN, township=mine))
    page = client.get(reverse("admin:staffing_doctor_changelist"), {"q": "平寨"}).content.decode()
    assert inside.name in page and outside.name not in page


def test_clinic_page_lists_current_and_recent_doctors_with_coverage(client, county_admin):
    client.force_login(county_admin)
    clinic, doctors = clinic_with_doctors(1, target_doctors=2)
    today = timezone.localdate()
    left = DoctorFactory(name="离岗医生", hire_date=today - datetime.timedelta(days=400))
    PostingFactory(
        doctor=left, facility=clinic, start_date=today - datetime.timedelta(days=300),
        end_date=today - datetime.timedelta(days=10),
    )
    long_gone = DoctorFactory(name="早年医生", hire_date=today - datetime.timedelta(days=900))
    PostingFactory(
        doctor=long_gone, facility=clinic, start_date=today - datetime.timedelta(days=800),
        end_date=today - datetime.timedelta(days=400),
    )
    page = client.get(reverse("admin:clinics_facility_change", args=[clinic.pk])).content.decode()
    assert doctors[0].name in page
    assert "离岗医生" in page  # ended ten days ago
    assert "早年医生" not in page  # ended more than 90 days ago
    assert "在岗医生 1 名，目标 2 名" in page
    assert "人手不足" in page


def test_full_clinic_page_shows_no_understaffed_warning(client, county_admin):
    client.force_login(county_admin)
    clinic, doctors = clinic_with_doctors(2, target_doctors=2)
    page = client.get(reverse("admin:clinics_facility_change", args=[clinic.pk])).content.decode()
    assert all(doctor.name in page for doctor in doctors)
    assert "在岗医生 2 名，目标 2 名" in page
    assert "人手不足" not in page


def test_clinic_has_no_delete_button_or_action(client, county_admin):
    client.force_login(county_admin)
    clinic, _ = clinic_with_doctors(0)
    page = client.get(reverse("admin:clinics_facility_change", args=[clinic.pk])).content.decode()
    assert reverse("admin:clinics_facility_delete", args=[clinic.pk]) not in page
    assert client.get(reverse("admin:clinics_facility_delete", args=[clinic.pk])).status_code == 403
    listing = client.get(reverse("admin:clinics_facility_changelist")).content.decode()
    assert "delete_selected" not in listing
