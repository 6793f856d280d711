"""One booking through the API is a bounded number of SQL statements (issue 18): the checks the
database enforces (the unique room token, the CHECK constraints) are not asked again in Python,
and a new booking's outcome (it has none) is not looked up."""

import pytest

from telemedicine.models import ConsultBooking
from tests.conftest import api_as
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import booking_payload, make_slot

URL = "/api/v1/teleconsult/bookings/"
pytestmark = pytest.mark.django_db
# What is left: the service's savepoint pair (a refusal must leave the caller's transaction
# usable), the doctor, posting, slot, calendar, leave and patient-overlap reads, the
# conditional UPDATE of the slot, the booking's INSERT in its savepoint (the exclusion
# constraint's race is answered with the overlapping consult), its event and audit row, and the
# consultant's notification (notifications.services.notify: template, preferences, outbox row).
MAX_STATEMENTS = 21


def test_a_booking_takes_a_bounded_number_of_statements(doctor_user, slot, consultant, django_assert_max_num_queries):
    client = api_as(doctor_user)
    warm = make_slot(consultant, TOMORROW, 14, 0)
    assert client.post(URL, booking_payload(warm, patient_name="覃某"), format="json").status_code == 201  # a running server's caches

    with django_assert_max_num_queries(MAX_STATEMENTS):
        response = client.post(URL, booking_payload(slot), format="json")

    assert response.status_code == 201, response.content
    booking = ConsultBooking.objects.get(slot=slot)
    assert response.json()["outcome"] is None
    assert booking.room_token and booking.starts_at < booking.ends_at
