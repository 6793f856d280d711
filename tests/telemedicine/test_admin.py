"""Admin: availability saved through the services (slots follow, audited); bookings read-only and scoped."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType

from clinics.models import Role
from core.models import AuditEntry
from telemedicine.models import ConsultBooking, Slot, WeeklyAvailability
from tests.conftest import api_as
from tests.factories import TownshipFactory, make_id_number, make_user
from tests.telemedicine.factories import booking_payload

pytestmark = pytest.mark.django_db


def test_adding_availability_in_admin_materialises_slots(client, county_admin, consultant, clock):
    client.force_login(county_admin)
    response = client.post(
        "/admin/telemedicine/weeklyavailability/add/",
        {"consultant": consultant.pk, "weekday": 2, "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30, "places": 2, "valid_from": "2026-12-01"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    availability = WeeklyAvailability.objects.get()
    assert Slot.objects.filter(availability=availability).count() >= 2
    assert AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(WeeklyAvailability), action="teleconsult.availability.create"
    ).exists()


def test_bad_availability_is_refused_in_chinese(client, county_admin, consultant):
    client.force_login(county_admin)
    page = client.post(
        "/admin/telemedicine/weeklyavailability/add/",
        {"consultant": consultant.pk, "weekday": 2, "start_time": "10:00", "end_time": "09:00", "slot_minutes": 30, "places": 1, "valid_from": "2026-12-01"},
    ).content.decode()
    assert "开始时间必须早于结束时间" in page


def test_booking_admin_is_read_only_masked_and_scoped(client, county_admin, doctor_user, slot):
    patient_id = make_id_number(datetime.date(1970, 3, 4), 5, "F")
    api_as(doctor_user).post("/api/v1/teleconsult/bookings/", booking_payload(slot, patient_id_number=patient_id, patient_age=None), format="json")
    booking = ConsultBooking.objects.get()
    client.force_login(county_admin)
    page = client.get(f"/admin/telemedicine/consultbooking/{booking.pk}/change/").content.decode()
    assert "451028********" in page and patient_id not in page
    assert client.get("/admin/telemedicine/consultbooking/add/").status_code == 403

    outsider = make_user(Role.TOWNSHIP_ADMIN, township=TownshipFactory(), username="other_town")
    client.force_login(outsider)
    assert "韦小兰" not in client.get("/admin/telemedicine/consultbooking/").content.decode()
    insider = make_user(Role.TOWNSHIP_ADMIN, township=doctor_user.scope.facility.township, username="home_town")
    client.force_login(insider)
    assert "韦小兰" in client.get("/admin/telemedicine/consultbooking/").content.decode()
