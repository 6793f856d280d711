"""No double booking under concurrency, on PostgreSQL: real threads race through the API."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from telemedicine.models import ConsultBooking, Slot
from tests.conftest import api_as
from tests.factories import make_id_number
from tests.telemedicine.factories import ConsultantFactory, booking_payload, make_slot, village_doctor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 24
URL = "/api/v1/teleconsult/bookings/"


def race(requests):
    """Run (user, payload) requests in threads released together; return the responses."""
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def run(index, user, payload):
        client = api_as(user)
        try:
            barrier.wait()
            response = client.post(URL, payload, format="json")
            results[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, user, payload)) for i, (user, payload) in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_threads_race_for_the_last_place(roles):
    consultant = ConsultantFactory()
    slot = make_slot(consultant, timezone.localdate() + datetime.timedelta(days=2), 9, places=3)
    Slot.objects.filter(pk=slot.pk).update(booked=2)  # one place left
    doctors = [village_doctor(username=f"race_vd_{i}") for i in range(THREADS)]

    results = race([(user, booking_payload(slot, patient_name=f"患者{i}")) for i, user in enumerate(doctors)])

    codes = sorted(code for code, _body in results)
    assert codes.count(201) == 1, codes
    assert codes.count(409) == THREADS - 1, codes
    assert all(code < 500 for code in codes)
    refusals = {body["detail"] for code, body in results if code == 409}
    assert refusals == {"该时段已约满，请选择其他时段或其他专家。"}
    slot.refresh_from_db()
    assert slot.booked == slot.places == 3
    assert ConsultBooking.objects.filter(slot=slot).count() == 1


def test_same_patient_races_for_overlapping_slots(roles):
    """Each thread books the same patient into a different consultant's overlapping slot: the
    exclusion constraint lets exactly one through."""
    day = timezone.localdate() + datetime.timedelta(days=2)
    user = village_doctor(username="race_same_patient")
    slots = [make_slot(ConsultantFactory(), day, 9, minute % 20, minutes=20) for minute in range(THREADS)]
    patient_id = make_id_number(datetime.date(1961, 5, 6), 11, "F")
    payloads = [booking_payload(s, patient_id_number=patient_id, patient_age=None) for s in slots]

    results = race([(user, payload) for payload in payloads])

    codes = [code for code, _body in results]
    assert codes.count(201) == 1, codes
    assert codes.count(409) == THREADS - 1, codes
    assert ConsultBooking.objects.count() == 1
    assert sum(Slot.objects.values_list("booked", flat=True)) == 1
    # Refused before the INSERT or by the exclusion constraint at it (the booking's transaction
    # rolled back, then the winner read): either way the refusal names the consult that won.
    winner = ConsultBooking.objects.get().pk
    refusals = [body for code, body in results if code == 409]
    assert {body["code"] for body in refusals} == {"patient_overlap"}
    assert {body.get("booking") for body in refusals} == {winner}, refusals


def test_database_refuses_an_overlapping_row_written_past_the_service(roles):
    from django.db import IntegrityError, transaction

    day = timezone.localdate() + datetime.timedelta(days=2)
    user = village_doctor(username="race_direct")
    first = make_slot(ConsultantFactory(), day, 9)
    second = make_slot(ConsultantFactory(), day, 9, 10)
    response = api_as(user).post(URL, booking_payload(first), format="json")
    assert response.status_code == 201
    booking = ConsultBooking.objects.get()
    clone = ConsultBooking.objects.get(pk=booking.pk)
    clone.pk = None
    clone.slot = second
    clone.starts_at, clone.ends_at = second.starts_at, second.ends_at
    clone.room_token = "x" * 43
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()


@pytest.mark.django_db(transaction=False)
def test_a_loss_at_the_exclusion_constraint_rolls_the_booking_back_and_names_the_winner(roles, monkeypatch):
    """The check before the INSERT passed (as for two requests at the same moment), the exclusion
    constraint refuses the INSERT: the booking's own transaction rolls back (the slot's place with
    it), the caller's transaction stays usable, and the 409 names the consult that holds the time."""
    from django.db import transaction
    from django.db.models import Exists

    from telemedicine.exceptions import BookingConflict
    from telemedicine.services import bookings
    from tests.telemedicine.factories import patient

    day = timezone.localdate() + datetime.timedelta(days=2)
    user = village_doctor(username="race_constraint")
    first = make_slot(ConsultantFactory(), day, 9)
    second = make_slot(ConsultantFactory(), day, 9, 10)
    person = dict(name="韦小兰", sex="F", age=None, id_number=make_id_number(datetime.date(1961, 5, 6), 11, "F"))
    won = bookings.booking_create(slot_id=first.pk, acting_user=user, patient=patient(**person), chief_complaint="头晕")
    monkeypatch.setattr(bookings, "patient_busy_exists", lambda **kw: Exists(ConsultBooking.objects.none()))

    with transaction.atomic():  # the caller's transaction
        with pytest.raises(BookingConflict) as refused:
            bookings.booking_create(slot_id=second.pk, acting_user=user, patient=patient(**person), chief_complaint="头晕")
        assert Slot.objects.get(pk=second.pk).booked == 0  # usable, and the place given back

    assert refused.value.code == "patient_overlap"
    assert refused.value.extra["booking"] == won.pk
    assert list(ConsultBooking.objects.values_list("pk", flat=True)) == [won.pk]
