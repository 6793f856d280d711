"""Doctor.insurance_code is the 国家医保医师代码: up to 20 ASCII letters and digits, stored NFKC and
upper case, on the doctor admin, in the doctor import and export, and migration 0007 normalises
the codes stored before."""

import importlib

import pytest
from django.apps import apps as global_apps
from django.core.exceptions import ValidationError

from staffing.importing import doctors_import
from staffing.jobs import doctor_export_rows
from staffing.models import Doctor, validate_practitioner_code
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory
from tests.staffing.test_import import csv_bytes, row

pytestmark = pytest.mark.django_db


def test_letters_and_digits_up_to_twenty_normalised_to_upper_case():
    assert validate_practitioner_code("D548494651871") == "D548494651871"  # the one sample seen (D + 12 digits)
    assert validate_practitioner_code(" ｄ５４８４９４６５１８７１ ") == "D548494651871"  # full-width from an input method
    assert validate_practitioner_code("d4510280001") == "D4510280001"  # D + 11 digits is not refused either
    assert validate_practitioner_code("A" * 20) == "A" * 20
    assert validate_practitioner_code("") == ""
    for wrong in ("A" * 21, "D-4510", "D 4510", "医保01", "D451028.1"):
        with pytest.raises(ValidationError) as refused:
            validate_practitioner_code(wrong)
        assert refused.value.code == "code_format", wrong


def test_the_doctor_stores_it_upper_case_and_refuses_a_duplicate():
    doctor = DoctorFactory.build(insurance_code="ｄ４５１０２８０００００１")
    doctor.full_clean()
    assert doctor.insurance_code == "D451028000001"
    doctor.save()
    twin = DoctorFactory.build(insurance_code="d451028000001")
    with pytest.raises(ValidationError) as refused:
        twin.full_clean()
    assert [e.code for e in refused.value.error_dict["insurance_code"]] == ["unique"]
    empty = DoctorFactory.build(insurance_code=" ")
    empty.full_clean()
    assert empty.insurance_code is None
    assert Doctor._meta.get_field("insurance_code").max_length == 20


def test_import_normalises_it_and_reports_a_bad_one_by_row():
    clinic = FacilityFactory()
    report = doctors_import(upload=csv_bytes([row(1, clinic.code, insurance_code="ｄ４５１０２８０００００９")]),
                            filename="d.csv", acting_user=None)
    assert report.ok and Doctor.objects.get().insurance_code == "D451028000009"
    bad = doctors_import(upload=csv_bytes([row(2, clinic.code, insurance_code="D-0002"), row(3, clinic.code)]),
                         filename="d.csv", acting_user=None)
    assert not bad.ok and [number for number, _text in bad.errors] == [2]
    assert Doctor.objects.count() == 1
    # One code in two spellings in one file is the same code.
    twice = doctors_import(upload=csv_bytes([row(4, clinic.code, insurance_code="d0004"),
                                             row(5, clinic.code, insurance_code="D0004")]), filename="d.csv", acting_user=None)
    assert [number for number, _text in twice.errors] == [3]


def test_export_carries_it(county_admin):
    doctor = PostingFactory(doctor=DoctorFactory(insurance_code="D451028000003")).doctor
    headers, body = doctor_export_rows(Doctor.objects.filter(pk=doctor.pk), user=county_admin)
    assert dict(zip(headers, next(iter(body)), strict=True))["insurance_code"] == "D451028000003"


def test_doctor_admin_lists_and_edits_it(client, county_admin):
    doctor = PostingFactory(doctor=DoctorFactory(insurance_code="D451028000004")).doctor
    client.force_login(county_admin)
    listing = client.get("/admin/staffing/doctor/", {"q": "D451028000004"})
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [doctor]
    assert "insurance_code" in listing.context["cl"].list_display
    page = client.get(f"/admin/staffing/doctor/{doctor.pk}/change/")
    assert "insurance_code" in page.context["adminform"].form.fields


def test_the_api_doctor_carries_it(api_client, county_admin):
    doctor = PostingFactory(doctor=DoctorFactory(insurance_code="D451028000005")).doctor
    api_client.force_authenticate(county_admin)
    answer = api_client.get(f"/api/v1/doctors/{doctor.pk}/")
    assert answer.status_code == 200 and answer.json()["insurance_code"] == "D451028000005"


def test_migration_0007_normalises_stored_codes_and_stops_on_one_it_cannot_keep():
    migration = importlib.import_module("staffing.migrations.0007_doctor_national_practitioner_code")

    class Editor:
        class connection:  # noqa: N801 - what RunPython's schema_editor offers
            alias = "default"

    kept = DoctorFactory(insurance_code="D451028000006")
    Doctor.objects.filter(pk=kept.pk).update(insurance_code="d451028000006")
    migration.normalise_codes(global_apps, Editor)
    assert Doctor.objects.get(pk=kept.pk).insurance_code == "D451028000006"
    other = DoctorFactory(insurance_code="T1")
    Doctor.objects.filter(pk=other.pk).update(insurance_code="d451028000006 ")  # upper case: the same as kept's
    with pytest.raises(RuntimeError, match=str(other.pk)):
        migration.normalise_codes(global_apps, Editor)
    assert Doctor.objects.get(pk=other.pk).insurance_code == "d451028000006 "  # nothing cut or dropped
