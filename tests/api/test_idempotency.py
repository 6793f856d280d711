"""Idempotency-Key on the booking and the settlement upload (`core.idempotency`): a retry with the
same key and body gets the first answer without the work being done again; another body is 422;
keys are per user and endpoint, expire, and two concurrent requests with one key do the work once
(threads on PostgreSQL). A booking sent again without a key gets a 409 that names the booking."""

import datetime
import time
import zoneinfo

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from clinics.models import Role
from clinics.settlements.models import SettlementImport, SettlementRecord
from core.errors import Busy
from core.idempotency import idempotency_keys_purge
from core.models import IdempotencyKey
from telemedicine.models import ConsultBooking
from telemedicine.services import bookings
from tests.api_client_helpers import api_token_for
from tests.factories import FacilityFactory, make_id_number, make_user
from tests.settlements.helpers import row
from tests.telemedicine.factories import ConsultantFactory, booking_payload, make_slot, village_doctor
from tests.threads import race

BOOK = "/api/v1/teleconsult/bookings/"
UPLOAD = "/api/v1/settlements/"
NOW = datetime.datetime(2026, 12, 1, 8, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
DAY = datetime.date(2026, 12, 3)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_for(user)}")
    return client


@pytest.fixture
def calendar_2026(db):
    from staffing.rosters.models import CalendarYear

    CalendarYear.objects.get_or_create(year=2026)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def booking_world(roles, calendar_2026, clock):
    slot = make_slot(ConsultantFactory(), DAY, 9, 0, places=3)
    return slot, village_doctor(username="idem_vd")


@pytest.fixture
def terminal(roles):
    clinic = FacilityFactory()
    return clinic, make_user(Role.API_CLIENT, facility=clinic, username="idem_pos")


@pytest.mark.django_db
def test_a_retried_booking_with_its_key_gets_the_first_answer_and_books_once(booking_world):
    slot, doctor = booking_world
    client = token_client(doctor)
    first = client.post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="book-1")
    again = client.post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="book-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert ConsultBooking.objects.count() == 1
    slot.refresh_from_db()
    assert slot.booked == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused_with_422(booking_world):
    slot, doctor = booking_world
    client = token_client(doctor)
    client.post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="book-2")
    other = client.post(BOOK, booking_payload(slot, patient_name="黄小明"), format="json", HTTP_IDEMPOTENCY_KEY="book-2")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused" and other.json()["detail"]
    assert ConsultBooking.objects.count() == 1


@pytest.mark.django_db
def test_the_same_body_with_its_keys_in_another_order_is_the_same_request(booking_world):
    slot, doctor = booking_world
    client = token_client(doctor)
    payload = booking_payload(slot)
    client.post(BOOK, payload, format="json", HTTP_IDEMPOTENCY_KEY="book-3")
    reordered = dict(reversed(list(payload.items())))
    assert client.post(BOOK, reordered, format="json", HTTP_IDEMPOTENCY_KEY="book-3").status_code == 201
    assert ConsultBooking.objects.count() == 1


@pytest.mark.django_db
def test_a_retry_without_a_key_gets_409_naming_its_booking(booking_world):
    slot, doctor = booking_world
    client = token_client(doctor)
    first = client.post(BOOK, booking_payload(slot), format="json")
    again = client.post(BOOK, booking_payload(slot), format="json")
    assert first.status_code == 201 and again.status_code == 409
    body = again.json()
    assert body["code"] == "patient_overlap" and body["booking"] == first.json()["id"]
    read_back = client.get(body["booking_url"])
    assert read_back.status_code == 200 and read_back.json()["id"] == first.json()["id"]


@pytest.mark.django_db
def test_a_409_does_not_name_a_booking_outside_the_users_reach(booking_world):
    """Another clinic's doctor booking the same patient (by ID number) is refused without the id."""
    slot, doctor = booking_world
    patient = {"patient_id_number": make_id_number(datetime.date(1961, 5, 6), 11, "F"), "patient_age": None, "patient_sex": "F"}
    assert token_client(doctor).post(BOOK, booking_payload(slot, **patient), format="json").status_code == 201
    stranger = village_doctor(username="idem_other")
    refused = token_client(stranger).post(BOOK, booking_payload(slot, **patient), format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "patient_overlap"
    assert "booking" not in refused.json() and "booking_url" not in refused.json()


@pytest.mark.django_db
def test_keys_are_per_user(booking_world):
    slot, doctor = booking_world
    other = village_doctor(username="idem_vd_2")
    first = token_client(doctor).post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    second = token_client(other).post(BOOK, booking_payload(slot, patient_name="黄小明"), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert first.status_code == second.status_code == 201 and first.json()["id"] != second.json()["id"]


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "键", "a\tb"])
def test_a_malformed_key_is_400(booking_world, key):
    slot, doctor = booking_world
    response = token_client(doctor).post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_invalid"
    assert not ConsultBooking.objects.exists()


@pytest.mark.django_db
def test_a_refusal_is_the_first_answer_but_busy_is_not_kept(booking_world, monkeypatch):
    slot, doctor = booking_world
    client = token_client(doctor)
    bad = booking_payload(slot, chief_complaint="")
    refused = client.post(BOOK, bad, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert refused.status_code == 400
    assert client.post(BOOK, bad, format="json", HTTP_IDEMPOTENCY_KEY="bad").json() == refused.json()

    real = bookings.booking_create
    calls = []

    def busy_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise Busy("稍后再试")
        return real(**kwargs)

    monkeypatch.setattr(bookings, "booking_create", busy_once)
    assert client.post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="busy").json()["code"] == "busy"
    assert client.post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="busy").status_code == 201
    assert ConsultBooking.objects.count() == 1


@pytest.mark.django_db
def test_a_key_still_at_work_answers_409_and_is_taken_over_after_the_lease(booking_world, settings):
    slot, doctor = booking_world
    client = token_client(doctor)
    client.post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="probe")
    claim = IdempotencyKey.objects.get(key="probe")
    IdempotencyKey.objects.create(
        user=doctor, scope=claim.scope, key="stuck", fingerprint=claim.fingerprint,
        locked_until=timezone.now() + datetime.timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS),
        expires_at=timezone.now() + datetime.timedelta(hours=24),
    )
    ConsultBooking.objects.all().delete()  # the probe's booking, so the taken-over request can book
    waiting = client.post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="stuck")
    assert waiting.status_code == 409 and waiting.json()["code"] == "idempotency_in_progress"
    assert waiting["Retry-After"] == "1"
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)):
        taken = client.post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="stuck")
    assert taken.status_code == 201 and ConsultBooking.objects.count() == 1


@pytest.mark.django_db
def test_keys_expire_and_are_purged(booking_world, settings):
    slot, doctor = booking_world
    client = token_client(doctor)
    client.post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="old")
    later = timezone.now() + datetime.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, seconds=1)
    with time_machine.travel(later):
        reused = client.post(BOOK, booking_payload(slot, patient_name="黄小明"), format="json", HTTP_IDEMPOTENCY_KEY="old")
        assert reused.status_code == 201  # a new request: the old key's answer is gone
        assert idempotency_keys_purge() == 0  # the expired row was replaced by the new claim
    with time_machine.travel(later + datetime.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, seconds=1)):
        assert idempotency_keys_purge() == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_a_retried_upload_with_its_key_gets_the_first_report_and_imports_once(terminal):
    clinic, user = terminal
    client = token_client(user)
    body = [row(clinic, 1), row(clinic, 2)]
    first = client.post(UPLOAD, body, format="json", HTTP_IDEMPOTENCY_KEY="upload-1")
    again = client.post(UPLOAD, body, format="json", HTTP_IDEMPOTENCY_KEY="upload-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and first.json()["accepted"] == 2
    assert again["Idempotent-Replayed"] == "true"
    assert SettlementImport.objects.count() == 1 and SettlementRecord.objects.count() == 2

    other = client.post(UPLOAD, [row(clinic, 3)], format="json", HTTP_IDEMPOTENCY_KEY="upload-1")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    without_key = client.post(UPLOAD, body, format="json")
    assert without_key.status_code == 201 and without_key.json()["duplicates"] == 2


@pytest.mark.django_db
def test_the_same_key_on_two_endpoints_is_two_keys(terminal, booking_world):
    clinic, user = terminal
    slot, doctor = booking_world
    assert token_client(user).post(UPLOAD, [row(clinic, 1)], format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert token_client(doctor).post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert set(IdempotencyKey.objects.values_list("scope", flat=True)) == {"settlements.upload", "teleconsult.booking.create"}


# --- Concurrency: real threads on PostgreSQL -------------------------------------------------------

THREADS = 8


def _slow(monkeypatch, module, name):
    real = getattr(module, name)

    def slow(*args, **kwargs):
        time.sleep(0.3)  # the work takes a while, so the other requests arrive while it runs
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_with_one_key_book_once(roles, calendar_2026, clock, monkeypatch):
    slot = make_slot(ConsultantFactory(), DAY, 9, 0, places=3)
    doctor = village_doctor(username="idem_race_vd")
    token = api_token_for(doctor)
    _slow(monkeypatch, bookings, "booking_create")

    def call():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.post(BOOK, booking_payload(slot), format="json", HTTP_IDEMPOTENCY_KEY="race")

    results = race([call] * THREADS)
    codes = sorted(code for code, _body in results)
    assert ConsultBooking.objects.count() == 1
    assert set(codes) <= {201, 409} and codes.count(201) >= 1, codes
    assert {body["code"] for code, body in results if code == 409} <= {"idempotency_in_progress"}
    booked = ConsultBooking.objects.get().pk
    assert {body["id"] for code, body in results if code == 201} == {booked}
    assert call().json()["id"] == booked  # asked again after the race: the first answer


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_with_one_key_import_once(roles, monkeypatch):
    from clinics.settlements import api as settlements_api

    clinic = FacilityFactory()
    user = make_user(Role.API_CLIENT, facility=clinic, username="idem_race_pos")
    token = api_token_for(user)
    _slow(monkeypatch, settlements_api, "settlements_import")
    body = [row(clinic, n) for n in range(1, 4)]

    def call():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.post(UPLOAD, body, format="json", HTTP_IDEMPOTENCY_KEY="race-upload")

    results = race([call] * THREADS)
    codes = [code for code, _body in results]
    assert set(codes) <= {201, 409} and codes.count(201) >= 1, codes
    assert SettlementImport.objects.count() == 1 and SettlementRecord.objects.count() == 3
    assert {body["batch"] for code, body in results if code == 201} == {SettlementImport.objects.get().pk}
