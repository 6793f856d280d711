"""Personal data: ID numbers and bank accounts are masked in lists, pages and exports for roles
that do not need them; they never reach the logs; an ID number is looked up through its keyed
hash."""

import datetime
import logging

import pytest
from django.test import Client
from django.urls import reverse

from clinics.settlements.services import settlements_import
from core.tabular import csv_text
from staffing.importing import IMPORT_COLUMNS, doctors_import
from staffing.models import Doctor, keyed_hash
from telemedicine.services import bookings as tele_services
from tests.conftest import api_as
from tests.factories import make_id_number
from tests.security.inspect import leaks, response_text
from tests.security.world import next_weekday
from tests.settlements.helpers import numbered, row
from tests.telemedicine.factories import booking_payload, make_slot, patient

pytestmark = pytest.mark.django_db

PATIENT_ID = "451028195003150025"


def full_values(doctors) -> list[str]:
    return [v for d in doctors for v in (d.id_number, d.bank_account)]


@pytest.mark.parametrize("role", ["township_admin", "insurance_clerk", "village_doctor"])
def test_roles_without_need_see_masked_id_numbers_and_accounts(world, role):
    a, _b, users, _ = world
    user = users[role]
    secrets = full_values(a.doctors)
    api = api_as(user)
    for url in ("/api/v1/doctors/", f"/api/v1/doctors/{a.doctors[0].pk}/", "/api/v1/payroll/payslips/", "/api/v1/settlements/"):
        response = api.get(url)
        assert not leaks(response_text(response), secrets + [row(a.clinic)["certno"]]), url
    doctors = api.get("/api/v1/doctors/").json()
    if doctors["count"]:
        shown = {d["name"]: d for d in doctors["results"]}[a.doctors[0].name]
        assert shown["id_number"] == a.doctors[0].id_number_masked and "*" in shown["id_number"]

    browser = Client()
    browser.force_login(user)
    pages = [
        reverse("admin:staffing_doctor_changelist"),
        reverse("admin:staffing_doctor_change", args=[a.doctors[0].pk]),
        reverse("admin:settlements_settlementrecord_changelist"),
        reverse("admin:telemedicine_consultbooking_changelist"),
    ]
    for url in pages:
        assert not leaks(response_text(browser.get(url)), secrets), url
    for action in ("export_csv", "export_xlsx"):
        export = browser.post(
            reverse("admin:staffing_doctor_changelist"),
            {"action": action, "_selected_action": [d.pk for d in a.doctors], "index": 0},
        )
        text = response_text(export)
        assert not leaks(text, secrets), action
        if role == "township_admin":
            assert a.doctors[0].id_number_masked in text


def test_county_admin_and_payroll_see_full_values_in_the_doctor_export(world):
    a, _b, users, _ = world
    for role in ("county_admin", "payroll_officer"):
        browser = Client()
        browser.force_login(users[role])
        export = browser.post(
            reverse("admin:staffing_doctor_changelist"),
            {"action": "export_csv", "_selected_action": [a.doctors[0].pk], "index": 0},
        )
        text = response_text(export)
        assert a.doctors[0].id_number in text and a.doctors[0].bank_account in text, role


def test_id_numbers_are_looked_up_through_the_keyed_hash(world):
    a, b, users, _ = world
    doctor = Doctor.objects.get(pk=a.doctors[0].pk)
    assert doctor.id_number_hash == keyed_hash(doctor.id_number) != doctor.id_number
    browser = Client()
    browser.force_login(users["township_admin"])
    found = browser.get(reverse("admin:staffing_doctor_changelist"), {"q": doctor.id_number})
    assert found.status_code == 200 and doctor.name in found.content.decode()
    # B's doctor, searched by A's township admin: not in reach, not found
    other = browser.get(reverse("admin:staffing_doctor_changelist"), {"q": b.doctors[0].id_number})
    assert b.doctors[0].name not in other.content.decode()


def test_no_full_id_number_account_or_mobile_reaches_the_logs(world, caplog):
    a, _b, users, _ = world
    county = users["county_admin"]
    caplog.set_level(logging.DEBUG)
    new_id = make_id_number(datetime.date(1990, 3, 3), 321, "F")
    values = {
        "name": "韦新医", "sex": "女", "birth_date": "1990-03-03", "id_number": new_id, "mobile": "13977712345",
        "qualification": "village_doctor", "licence_number": "LICNEW01", "licence_expiry": "2030-01-01",
        "hire_date": "2026-01-01", "clinic_code": a.clinic.code, "bank_name": "广西农信", "bank_account": "6230999988887777666",
        "insurance_code": "NEW00001",
    }
    bad = {**values, "name": "坏行", "id_number": new_id[:-1] + ("0" if new_id[-1] != "0" else "1"), "mobile": "13977754321",
           "bank_account": "6230111122223333444"}
    upload = csv_text(IMPORT_COLUMNS, [[r[c] for c in IMPORT_COLUMNS] for r in (values, bad)]).encode()
    report = doctors_import(upload=upload, filename="doctors.csv", acting_user=county)
    assert report.errors  # the bad row is reported to the user (not logged)
    good = doctors_import(
        upload=csv_text(IMPORT_COLUMNS, [[values[c] for c in IMPORT_COLUMNS]]).encode(), filename="doctors.csv", acting_user=county
    )
    assert not good.errors

    settlements_import(
        source="api", acting_user=users["insurance_clerk"],
        rows=numbered([row(a.clinic, 91, certno=PATIENT_ID), row(a.clinic, 92, certno=PATIENT_ID, medfee_sumamt="x")]),
    )
    slot = make_slot(a.consultant, next_weekday(datetime.date.today() + datetime.timedelta(days=4)), 10, 0)
    tele_services.booking_create(
        slot_id=slot.pk, acting_user=users["village_doctor"], patient=patient(name="罗阿婆", id_number=PATIENT_ID),
        chief_complaint="胸闷",
    )
    wrong_id = PATIENT_ID[:-1] + ("0" if PATIENT_ID[-1] != "0" else "1")
    refused = api_as(users["village_doctor"]).post(
        "/api/v1/teleconsult/bookings/", booking_payload(slot, patient_id_number=wrong_id, patient_name="黄阿公"), format="json"
    )
    assert refused.status_code in (400, 409)
    secrets = [wrong_id, new_id, bad["id_number"], values["mobile"], bad["mobile"], values["bank_account"], bad["bank_account"], PATIENT_ID]
    logged = "\n".join(r.getMessage() + " " + str(r.args) for r in caplog.records)
    assert any(r.name == "django.request" for r in caplog.records), "the refused request was logged"
    assert not leaks(logged, secrets)

