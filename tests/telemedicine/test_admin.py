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


def test_withdrawing_a_slot_in_admin_goes_through_the_audited_service(client, county_admin, doctor_user, slot):
    api_as(doctor_user).post("/api/v1/teleconsult/bookings/", booking_payload(slot), format="json")
    client.force_login(county_admin)
    response = client.post(f"/admin/telemedicine/slot/{slot.pk}/change/", {"is_withdrawn": "on"}, follow=True)
    assert response.status_code == 200
    assert Slot.objects.get(pk=slot.pk).is_withdrawn
    entry = AuditEntry.objects.get(content_type=ContentType.objects.get_for_model(Slot), action="teleconsult.slot.update")
    assert entry.actor == county_admin and entry.changes == {"is_withdrawn": [False, True]}
    assert "有 1 个未完成的会诊落在停诊时间内" in response.content.decode()


def test_a_township_admin_cannot_withdraw_another_townships_slot(db, roles, slot):
    from django.core.exceptions import ValidationError

    from telemedicine.services.slots import slot_withdrawn_set

    outsider = make_user(Role.TOWNSHIP_ADMIN, township=TownshipFactory(), username="far_town")
    with pytest.raises(ValidationError):
        slot_withdrawn_set(slot=slot, withdrawn=True, acting_user=outsider)
    assert not Slot.objects.get(pk=slot.pk).is_withdrawn
    assert not AuditEntry.objects.filter(action="teleconsult.slot.update").exists()


def test_saving_a_booking_in_admin_writes_nothing(client, county_admin, doctor_user, slot):
    api_as(doctor_user).post("/api/v1/teleconsult/bookings/", booking_payload(slot), format="json")
    booking = ConsultBooking.objects.get()
    client.force_login(county_admin)
    url = f"/admin/telemedicine/consultbooking/{booking.pk}/change/"
    # a service moves the booking on while the admin's form is open
    ConsultBooking.objects.filter(pk=booking.pk).update(status="cancelled", cancel_reason="患者好转")
    response = client.post(url, {
        "events-TOTAL_FORMS": "1", "events-INITIAL_FORMS": "1", "events-MIN_NUM_FORMS": "0", "events-MAX_NUM_FORMS": "1000",
        "outcome-TOTAL_FORMS": "0", "outcome-INITIAL_FORMS": "0", "outcome-MIN_NUM_FORMS": "0", "outcome-MAX_NUM_FORMS": "1",
        "events-0-id": str(booking.events.get().pk), "events-0-booking": str(booking.pk),
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = ConsultBooking.objects.get(pk=booking.pk)
    assert (stored.status, stored.cancel_reason) == ("cancelled", "患者好转")


def test_availability_reaching_a_year_without_a_calendar_warns(client, county_admin, consultant, clock, settings):
    """The horizon reaches 2027, whose holiday calendar is not loaded: the save says no slots are
    offered in 2027 yet (and offers none there); with the horizon inside 2026 nothing is said."""
    settings.TELECONSULT_SLOT_HORIZON_DAYS = 40
    client.force_login(county_admin)
    data = {"consultant": consultant.pk, "weekday": 4, "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30, "places": 1, "valid_from": "2026-12-01"}
    response = client.post("/admin/telemedicine/weeklyavailability/add/", data, follow=True)
    said = [str(m) for m in response.context["messages"]]
    assert any("2027" in m for m in said), said
    assert Slot.objects.filter(starts_at__year=2026).exists() and not Slot.objects.filter(starts_at__year=2027).exists()
    settings.TELECONSULT_SLOT_HORIZON_DAYS = 28
    response = client.post("/admin/telemedicine/weeklyavailability/add/", {**data, "weekday": 1}, follow=True)
    assert not any("2027" in str(m) for m in response.context["messages"])


def test_an_exception_in_a_year_without_a_calendar_warns(client, county_admin, consultant, clock):
    client.force_login(county_admin)
    response = client.post(
        "/admin/telemedicine/availabilityexception/add/",
        {"consultant": consultant.pk, "date": "2027-01-08", "kind": "leave", "reason": "年假"},
        follow=True,
    )
    assert any("2027" in str(m) for m in response.context["messages"])
