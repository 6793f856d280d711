"""Video room window, and who sees which consults."""

import datetime

import pytest

from clinics.models import Role
from telemedicine.models import ConsultBooking
from telemedicine.selectors import room_access
from telemedicine.video import room_name
from tests.conftest import api_as
from tests.factories import make_user
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import booking_payload, consultant_with_login, make_slot, village_doctor

URL = "/api/v1/teleconsult/bookings/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed(doctor_user, slot, consultant):
    booking_id = api_as(doctor_user).post(URL, booking_payload(slot), format="json").json()["id"]
    api_as(consultant.user).post(f"{URL}{booking_id}/confirm/")
    return ConsultBooking.objects.get(pk=booking_id)


@pytest.fixture(autouse=True)
def jitsi(settings):
    settings.JITSI_BASE_URL = "https://meet.leye-health.cn"
    settings.JITSI_APP_SECRET = "a-test-secret-of-forty-characters-000000"


def test_room_opens_shortly_before_and_closes_at_end(confirmed, doctor_user, settings):
    settings.TELECONSULT_VIDEO_OPENS_MINUTES = 10
    start, end = confirmed.starts_at, confirmed.ends_at
    assert room_access(confirmed, user=doctor_user, now=start - datetime.timedelta(minutes=11)).state == "early"
    assert room_access(confirmed, user=doctor_user, now=start - datetime.timedelta(minutes=11)).url == ""
    opened = room_access(confirmed, user=doctor_user, now=start - datetime.timedelta(minutes=10))
    assert opened.state == "open"
    assert opened.url.startswith(f"https://meet.leye-health.cn/{room_name(confirmed.room_token)}?jwt=")
    assert room_access(confirmed, user=doctor_user, now=end - datetime.timedelta(seconds=1)).state == "open"
    assert room_access(confirmed, user=doctor_user, now=end).state == "closed"


def test_room_tokens_are_unguessable_and_distinct(doctor_user, consultant, clock):
    tokens = set()
    for hour in (9, 10, 11):
        slot = make_slot(consultant, TOMORROW, hour)
        tokens.add(api_as(doctor_user).post(URL, booking_payload(slot, patient_name=f"患者{hour}"), format="json").json()["id"])
    values = set(ConsultBooking.objects.values_list("room_token", flat=True))
    assert len(values) == 3 and all(len(v) >= 43 for v in values)


def test_room_page_says_when_it_opens(client, confirmed, doctor_user, clock):
    client.force_login(doctor_user)
    page = client.get(f"/m/consult/room/{confirmed.room_token}/").content.decode()
    assert "视频会议室尚未开放" in page and "12月2日 08:50" in page
    assert "meet.leye-health.cn" not in page
    clock.move_to(confirmed.starts_at)
    client.force_login(doctor_user)  # sessions last 8 hours
    page = client.get(f"/m/consult/room/{confirmed.room_token}/").content.decode()
    assert f"/{room_name(confirmed.room_token)}?jwt=" in page and "进入视频会诊" in page
    clock.move_to(confirmed.ends_at + datetime.timedelta(minutes=1))
    assert "已于" in client.get(f"/m/consult/room/{confirmed.room_token}/").content.decode()


def test_room_page_of_someone_else_is_404(client, confirmed, db):
    client.force_login(village_doctor(username="vd_nosy"))
    assert client.get(f"/m/consult/room/{confirmed.room_token}/").status_code == 404


def test_unconfirmed_consult_has_no_room(doctor_user, slot):
    booking = ConsultBooking.objects.get(pk=api_as(doctor_user).post(URL, booking_payload(slot), format="json").json()["id"])
    assert room_access(booking, now=booking.starts_at).state == "inactive"


def test_scoping(confirmed, doctor_user, consultant, county_admin, db):
    colleague = village_doctor(username="vd_same_clinic", facility=doctor_user.scope.facility)
    stranger = village_doctor(username="vd_stranger")
    other_consultant = consultant_with_login(department=consultant.department, username="dr_other")
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=doctor_user.scope.facility.township, username="tadmin")
    other_township_admin = make_user(Role.TOWNSHIP_ADMIN, township=stranger.scope.facility.township, username="tadmin2")

    def ids(user):
        return [b["id"] for b in api_as(user).get(URL).json()["results"]]

    assert ids(doctor_user) == [confirmed.pk]
    assert ids(colleague) == []  # own bookings only, not the clinic's
    assert ids(stranger) == []
    assert ids(consultant.user) == [confirmed.pk]
    assert ids(other_consultant.user) == []
    assert ids(township_admin) == [confirmed.pk]
    assert ids(other_township_admin) == []
    assert ids(county_admin) == [confirmed.pk]
    assert api_as(stranger).get(f"{URL}{confirmed.pk}/").status_code == 404
    assert api_as(stranger).post(f"{URL}{confirmed.pk}/cancel/", {"reason": "x"}).status_code == 404
