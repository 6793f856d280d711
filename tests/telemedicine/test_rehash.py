"""The patient identity key is a keyed hash (core.hashing, HASH_KEY): after the key is rotated,
`manage.py rehash_keyed_values` recomputes the stored keys from the bookings' patient details, so
the no-overlap rule still finds the patient."""

import datetime
import io

import pytest
from django.core.management import call_command

from telemedicine.models import ConsultBooking
from telemedicine.services.patients import booking_patient_key
from tests.conftest import api_as
from tests.factories import make_id_number
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import ConsultantFactory, booking_payload, make_slot

URL = "/api/v1/teleconsult/bookings/"
pytestmark = pytest.mark.django_db
PATIENT_ID = make_id_number(datetime.date(1970, 3, 4), 7, "F")


@pytest.mark.parametrize(
    "who",
    [
        {"patient_id_number": PATIENT_ID, "patient_age": None},  # known by the ID number
        {},  # known by name, sex and age at the clinic
        {"patient_birth_date": "1970-03-04", "patient_age": None},  # by name, sex and birth date
    ],
    ids=["id_number", "name_sex_age", "name_sex_birth_date"],
)
def test_rotating_the_hash_key_keeps_the_no_overlap_rule(doctor_user, consultant, clock, settings, who):
    client = api_as(doctor_user)
    first = client.post(URL, booking_payload(make_slot(consultant, TOMORROW, 9, minutes=30), **who), format="json")
    assert first.status_code == 201, first.content
    booking = ConsultBooking.objects.get(pk=first.json()["id"])
    old_key = booking.patient_key
    assert booking_patient_key(booking) == old_key  # the stored details give the stored key

    settings.HASH_KEY = "rotated-hash-key-for-the-test-5b1c"
    assert booking_patient_key(booking) != old_key  # stale until rehashed
    out = io.StringIO()
    call_command("rehash_keyed_values", stdout=out)

    assert "telemedicine.consultbooking.patient_key: 1" in out.getvalue()
    booking.refresh_from_db()
    assert booking.patient_key != old_key and booking.patient_key == booking_patient_key(booking)
    overlapping = make_slot(ConsultantFactory(), TOMORROW, 9, 10)
    refused = client.post(URL, booking_payload(overlapping, **who), format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "patient_overlap"
    # and a second run has nothing left to rewrite
    out = io.StringIO()
    call_command("rehash_keyed_values", stdout=out)
    assert "telemedicine.consultbooking.patient_key: 0" in out.getvalue()


def test_the_migration_rehash_reads_a_historical_model(doctor_user, slot, settings):
    """The data migration passes its historical model; the same function serves both."""
    from django.apps import apps

    from telemedicine.services.patients import patient_keys_rehash

    api_as(doctor_user).post(URL, booking_payload(slot), format="json")
    settings.HASH_KEY = "another-rotated-key-7d3e"
    assert patient_keys_rehash(booking_model=apps.get_model("telemedicine", "ConsultBooking")) == 1
    booking = ConsultBooking.objects.get()
    assert booking.patient_key == booking_patient_key(booking)
