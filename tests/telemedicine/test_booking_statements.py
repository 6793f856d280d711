"""One booking through the API is a bounded number of SQL statements (issue 18): the checks the
database enforces (the unique room token, the CHECK constraints) are not asked again in Python,
the questions about the slot are asked in the SELECT that reads it, and a new booking's outcome
(it has none) and its notification rows (there are none yet) are not looked up."""

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from telemedicine.models import ConsultBooking
from tests.api_client_helpers import auth_header
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import booking_payload, make_slot

URL = "/api/v1/teleconsult/bookings/"
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("keep_query_log")]
# The request as a terminal sends it, with its API token:
STATEMENTS = [
    "knox_authtoken",  # the token, its user and the user's role (core.tokens, clinics' `register_user_related`)
    "SAVEPOINT",  # the service's transaction (BEGIN outside a test)
    "staffing_posting",  # the doctor's posting in force, with the doctor and the clinic
    "telemedicine_slot",  # the slot, consultant, department, facility; calendar, both leave and overlap as EXISTS
    'UPDATE "telemedicine_slot"',  # the conditional UPDATE that takes the place
    'INSERT INTO "telemedicine_consultbooking"',  # the booking (the exclusion constraint's race rolls it all back)
    'INSERT INTO "telemedicine_bookingevent"',  # its event
    'INSERT INTO "clinics_auditentry"',  # its audit row
    "notifications_notificationpreference",  # the consultant's addresses, switches and the active template
    "staffing_doctor",  # the consultant's register entry, for the SMS and WeCom address resolvers
    'INSERT INTO "notifications_notification"',  # the outbox row
    "RELEASE SAVEPOINT",  # COMMIT outside a test
]
MAX_STATEMENTS = 14


def _book(client, slot):
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        response = client.post(URL, booking_payload(slot), format="json")
    return response, [query["sql"] for query in captured.captured_queries]


def test_a_booking_takes_a_bounded_number_of_statements(doctor_user, slot, consultant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=auth_header(doctor_user)["Authorization"])
    warm = make_slot(consultant, TOMORROW, 14, 0)
    assert client.post(URL, booking_payload(warm, patient_name="覃某"), format="json").status_code == 201  # a running server's caches

    response, statements = _book(client, slot)

    assert response.status_code == 201, response.content
    assert len(statements) <= MAX_STATEMENTS, "\n".join(statements)
    assert len(statements) == len(STATEMENTS), "\n".join(statements)
    for expected, sql in zip(STATEMENTS, statements, strict=True):
        assert expected in sql, (expected, sql)
    booking = ConsultBooking.objects.get(slot=slot)
    assert response.json()["outcome"] is None
    assert booking.room_token and booking.starts_at < booking.ends_at
