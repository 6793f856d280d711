"""Query counts stay flat as rows grow; the API is in the OpenAPI schema with its refusals."""

import datetime

import pytest
from django.db import reset_queries

from tests.conftest import api_as
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import booking_payload, make_slot, weekly

URL = "/api/v1/teleconsult/bookings/"
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("keep_query_log")]


def add_bookings(doctor_user, consultant, n, start_hour):
    client = api_as(doctor_user)
    for i in range(n):
        day = TOMORROW + datetime.timedelta(days=i // 8)
        slot = make_slot(consultant, day, start_hour + (i % 8) // 3, ((i % 8) % 3) * 20)
        assert client.post(URL, booking_payload(slot, patient_name=f"患者{start_hour}-{i}"), format="json").status_code == 201


@pytest.mark.parametrize("who", ["doctor", "consultant", "admin"])
def test_booking_list_queries_are_flat(doctor_user, consultant, county_admin, clock, django_assert_max_num_queries, who):
    user = {"doctor": doctor_user, "consultant": consultant.user, "admin": county_admin}[who]
    add_bookings(doctor_user, consultant, 4, 9)
    reset_queries()
    with django_assert_max_num_queries(6) as small:
        assert len(api_as(user).get(URL).json()["results"]) == 4
    baseline = len(small)
    add_bookings(doctor_user, consultant, 8, 14)
    reset_queries()
    with django_assert_max_num_queries(baseline):
        assert len(api_as(user).get(URL).json()["results"]) == 12


def test_slot_list_queries_are_flat(doctor_user, consultant, clock, django_assert_max_num_queries):
    weekly(consultant, 2, "09:00", "10:00")
    params = {"department": consultant.department_id, "date": "2026-12-02"}
    api_as(doctor_user).get("/api/v1/teleconsult/slots/", params)
    reset_queries()
    with django_assert_max_num_queries(30) as small:
        assert len(api_as(doctor_user).get("/api/v1/teleconsult/slots/", params).json()) == 3
    baseline = len(small)
    weekly(consultant, 2, "10:00", "13:00")
    api_as(doctor_user).get("/api/v1/teleconsult/slots/", params)
    reset_queries()
    with django_assert_max_num_queries(baseline):
        assert len(api_as(doctor_user).get("/api/v1/teleconsult/slots/", params).json()) == 12


ADMIN_PAGES = [
    "/admin/telemedicine/consultbooking/",
    "/admin/telemedicine/slot/",
    "/admin/telemedicine/consultant/",
    "/admin/telemedicine/bookingevent/",
    "/admin/telemedicine/consultoutcome/",
    "/admin/telemedicine/weeklyavailability/",
    "/admin/telemedicine/availabilityexception/",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_changelists_are_flat(client, county_admin, doctor_user, consultant, clock, django_assert_max_num_queries, url):
    client.force_login(county_admin)
    add_bookings(doctor_user, consultant, 3, 9)
    weekly(consultant, 1)
    reset_queries()
    with django_assert_max_num_queries(40) as small:
        assert client.get(url).status_code == 200
    baseline = len(small)
    add_bookings(doctor_user, consultant, 9, 14)
    weekly(consultant, 3)
    weekly(consultant, 4)
    reset_queries()
    with django_assert_max_num_queries(baseline):
        assert client.get(url).status_code == 200


def test_openapi_schema_documents_the_api(client, county_admin):
    client.force_login(county_admin)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in [
        "/api/v1/teleconsult/departments/",
        "/api/v1/teleconsult/slots/",
        "/api/v1/teleconsult/bookings/",
        "/api/v1/teleconsult/bookings/{id}/",
    ]:
        assert path in paths, path
    for action in ["confirm", "decline", "start", "complete", "cancel", "reschedule"]:
        operation = paths[f"/api/v1/teleconsult/bookings/{{id}}/{action}/"]["post"]
        assert {"403", "404", "409"} <= set(operation["responses"]), action
    create = paths["/api/v1/teleconsult/bookings/"]["post"]["responses"]
    assert {"201", "400", "403", "409"} <= set(create)
    params = {p["name"] for p in paths["/api/v1/teleconsult/slots/"]["get"]["parameters"]}
    assert {"department", "date"} <= params
