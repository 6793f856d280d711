"""Writes to the register (townships, clinics, departments) go through clinics.services: reach
before and after, validation, and an audit row naming what changed — from the admin as from code."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from clinics import services
from clinics.models import Department, Facility, Role, Township
from core.models import AuditEntry
from tests.factories import FacilityFactory, TownshipFactory, make_user

pytestmark = pytest.mark.django_db


def facility_form(facility: Facility, **overrides) -> dict:
    data = {
        "kind": facility.kind, "name": facility.name, "code": facility.code, "township": facility.township_id,
        "village": facility.village, "village_kind": facility.village_kind, "is_active": "on", "settlement_enabled": "on",
        "target_doctors": facility.target_doctors, "morning_start": "08:00", "morning_end": "12:00",
        "afternoon_start": "14:30", "afternoon_end": "18:30",
        "departments-TOTAL_FORMS": "0", "departments-INITIAL_FORMS": "0",
        "departments-MIN_NUM_FORMS": "0", "departments-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def audit_actions(target) -> list[tuple[str, dict]]:
    return list(
        AuditEntry.objects.filter(object_id=str(target.pk), content_type__model=target._meta.model_name)
        .order_by("id")
        .values_list("action", "changes")
    )


def test_admin_change_of_a_clinic_is_audited_with_the_fields_that_changed(roles, county_admin):
    clinic = FacilityFactory(target_doctors=2)
    browser = Client()
    browser.force_login(county_admin)

    response = browser.post(
        reverse("admin:clinics_facility_change", args=[clinic.pk]), facility_form(clinic, target_doctors="3", name="新名卫生室")
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    clinic.refresh_from_db()
    assert (clinic.target_doctors, clinic.name) == (3, "新名卫生室")
    [(action, changes)] = audit_actions(clinic)
    assert action == "facility.update"
    assert set(changes) == {"name", "target_doctors"} and changes["target_doctors"] == [2, 3]


def test_admin_departments_inline_adds_and_removes_through_services(roles, county_admin):
    centre = FacilityFactory(kind=Facility.Kind.TOWNSHIP_CENTRE, village="", village_kind="")
    old = Department.objects.create(facility=centre, code="NK", name="内科")
    browser = Client()
    browser.force_login(county_admin)
    data = facility_form(
        centre,
        **{
            "departments-TOTAL_FORMS": "2", "departments-INITIAL_FORMS": "1",
            "departments-0-id": str(old.pk), "departments-0-facility": str(centre.pk), "departments-0-code": "NK",
            "departments-0-name": "内科", "departments-0-is_active": "on", "departments-0-DELETE": "on",
            "departments-1-facility": str(centre.pk), "departments-1-code": "EK", "departments-1-name": "儿科",
            "departments-1-is_active": "on",
        },
    )

    response = browser.post(reverse("admin:clinics_facility_change", args=[centre.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    [new] = Department.objects.filter(facility=centre)
    assert (new.code, new.name) == ("EK", "儿科")
    assert [a for a, _ in audit_actions(new)] == ["department.create"]
    assert AuditEntry.objects.filter(action="department.delete", object_id=str(old.pk), actor=county_admin).exists()


def test_a_township_admin_cannot_hand_a_clinic_to_another_township(roles):
    clinic = FacilityFactory()
    admin = make_user(Role.TOWNSHIP_ADMIN, township=clinic.township)
    home, elsewhere = clinic.township_id, TownshipFactory()

    with pytest.raises(ValidationError) as excinfo:
        services.facility_save(facility=clinic, acting_user=admin, township=elsewhere)

    assert excinfo.value.error_dict["township"][0].code == "out_of_reach"
    assert Facility.objects.get(pk=clinic.pk).township_id == home
    assert not AuditEntry.objects.filter(action="facility.update").exists()


def test_a_clinic_out_of_reach_is_refused_before_anything_is_written(roles):
    clinic, other = FacilityFactory(), FacilityFactory()
    admin = make_user(Role.TOWNSHIP_ADMIN, township=other.township)

    with pytest.raises(ValidationError) as excinfo:
        services.facility_save(facility=clinic, acting_user=admin, target_doctors=5)
    with pytest.raises(ValidationError):
        services.department_save(department=Department(facility=clinic, code="WK", name="外科"), acting_user=admin)

    assert excinfo.value.messages and all(e.code == "out_of_reach" for e in excinfo.value.error_list)
    assert Facility.objects.get(pk=clinic.pk).target_doctors == clinic.target_doctors
    assert not Department.objects.filter(facility=clinic).exists()


def test_townships_are_county_data(roles, county_admin):
    township = TownshipFactory()
    admin = make_user(Role.TOWNSHIP_ADMIN, township=township)

    with pytest.raises(ValidationError) as excinfo:
        services.township_save(township=township, acting_user=admin, name="改名镇")
    assert excinfo.value.error_list[0].code == "out_of_reach"

    created = services.township_save(
        township=Township(), acting_user=county_admin, code="451028999", name="新设镇", kind=Township.Kind.TOWN
    )
    assert audit_actions(created) == [
        ("township.create", {"code": "451028999", "name": "新设镇", "kind": Township.Kind.TOWN})
    ]


def test_an_invalid_change_is_refused_with_the_models_message(roles, county_admin):
    clinic = FacilityFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.facility_save(facility=clinic, acting_user=county_admin, morning_start=datetime.time(13, 0))
    assert excinfo.value.messages
    assert Facility.objects.get(pk=clinic.pk).morning_start == datetime.time(8, 0)
