"""Odd input never becomes a 500."""

import pytest

from tests.conftest import api_as
from tests.telemedicine.factories import booking_payload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "2026-02-30", "abc"])
def test_slot_dates_out_of_range(doctor_user, consultant, date):
    response = api_as(doctor_user).get("/api/v1/teleconsult/slots/", {"department": consultant.department_id, "date": date})
    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    "overrides",
    [
        {"slot": 10**20},
        {"slot": -1},
        {"slot": "x"},
        {"patient_age": 10**9},
        {"patient_birth_date": "0001-01-01", "patient_age": None},
        {"patient_name": "a" * 500},
        {"mode": "fax"},
        {"patient_id_number": "X" * 18},
    ],
)
def test_booking_input_out_of_range(doctor_user, slot, overrides):
    payload = {**booking_payload(slot), **overrides}
    response = api_as(doctor_user).post("/api/v1/teleconsult/bookings/", payload, format="json")
    assert response.status_code == 400, response.content


def test_pages_with_odd_ids(client, doctor_user, consultant):
    client.force_login(doctor_user)
    assert client.get(f"/m/consult/book/{10**20}/").status_code == 404
    assert client.get(f"/m/consult/{10**20}/").status_code == 404
    assert client.get("/m/consult/book/", {"department": "x", "date": "9999-12-31"}).status_code == 200
    assert client.get("/m/consult/book/", {"department": consultant.department_id, "date": "9999-12-31"}).status_code == 200
    client.force_login(consultant.user)
    assert client.get("/m/consult/schedule/", {"date": "9999-12-31"}).status_code == 200


@pytest.mark.parametrize(("start", "end"), [("0001-01", "0001-02"), ("2026-12", "9999-12"), ("2026-13", "x"), ("2026-12", "2026-01")])
def test_report_months_out_of_range(client, county_admin, start, end):
    client.force_login(county_admin)
    response = client.get("/admin/telemedicine/consultbooking/report/", {"start": start, "end": end}, follow=True)
    assert response.status_code == 200
    assert "2000 年到 2100 年" in response.content.decode()
