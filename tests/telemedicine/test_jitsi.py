"""Rooms on Jitsi Meet with token authentication: each party's link carries a JWT that Jitsi's
prosody token module accepts (verified here the way it does, with PyJWT: HS256, the app secret,
audience and issuer), for this room, this person and the room's window only."""

import datetime
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import time_machine

from clinics.models import Role
from telemedicine.models import ConsultBooking
from telemedicine.selectors import room_access
from telemedicine.video import room_name
from tests.conftest import api_as
from tests.factories import make_user
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import booking_payload, make_slot

URL = "/api/v1/teleconsult/bookings/"
SECRET = "s3cret-of-the-county-jitsi-deployment-0123456789"
pytestmark = pytest.mark.django_db


@pytest.fixture
def jitsi(settings):
    settings.JITSI_BASE_URL = "https://meet.leye-health.cn/"
    settings.JITSI_APP_ID = "cunyi"
    settings.JITSI_APP_SECRET = SECRET
    settings.JITSI_AUDIENCE = "jitsi"
    settings.JITSI_SUB = "meet.leye-health.cn"
    settings.TELECONSULT_VIDEO_OPENS_MINUTES = 10
    settings.TELECONSULT_ROOM_OVERRUN_MINUTES = 45
    return settings


@pytest.fixture
def confirmed(doctor_user, slot, consultant):
    booking_id = api_as(doctor_user).post(URL, booking_payload(slot), format="json").json()["id"]
    assert api_as(consultant.user).post(f"{URL}{booking_id}/confirm/").status_code == 200
    return ConsultBooking.objects.select_related("consultant", "doctor").get(pk=booking_id)


def token_of(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path.lstrip("/"), parse_qs(parts.query)["jwt"][0]


def verify(token: str, **kwargs) -> dict:
    """As prosody's token module does: HS256 with app_secret, aud and iss checked, nbf/exp too."""
    return jwt.decode(token, kwargs.pop("secret", SECRET), algorithms=["HS256"], audience="jitsi", issuer="cunyi", **kwargs)


def test_each_party_gets_a_token_for_this_room_person_and_window(jitsi, confirmed, doctor_user, consultant):
    opens = confirmed.starts_at - datetime.timedelta(minutes=10)
    with time_machine.travel(confirmed.starts_at, tick=False):
        doctor_room = room_access(confirmed, user=doctor_user)
        consultant_room = room_access(confirmed, user=consultant.user)
        assert doctor_room.state == consultant_room.state == "open"
        assert doctor_room.url.startswith("https://meet.leye-health.cn/cunyi")  # one slash, no placeholder host
        room, token = token_of(doctor_room.url)
        assert room == room_name(confirmed.room_token) and room == room.lower() and len(room) == 37
        claims = verify(token)
        assert claims["room"] == room and claims["sub"] == "meet.leye-health.cn"
        assert claims["iss"] == "cunyi" and claims["aud"] == "jitsi"
        assert claims["nbf"] == int(opens.timestamp())
        assert claims["exp"] == int(confirmed.ends_at.timestamp())  # confirmed, not started: the slot's end
        assert claims["iat"] == int(confirmed.starts_at.timestamp())
        assert claims["context"]["user"] == {"id": str(doctor_user.pk), "name": confirmed.doctor.name, "moderator": False}
        assert jwt.get_unverified_header(token)["alg"] == "HS256"

        room2, token2 = token_of(consultant_room.url)
        assert room2 == room
        assert verify(token2)["context"]["user"] == {"id": str(consultant.user.pk), "name": consultant.name, "moderator": True}


def test_a_token_is_refused_after_exp_before_nbf_and_with_a_wrong_secret(jitsi, confirmed, doctor_user):
    with time_machine.travel(confirmed.starts_at, tick=False):
        _room, token = token_of(room_access(confirmed, user=doctor_user).url)
        verify(token)  # valid now
        with pytest.raises(jwt.InvalidSignatureError):
            verify(token, secret="another-deployment-secret-0123456789abcdef")
        with pytest.raises(jwt.InvalidAudienceError):
            jwt.decode(token, SECRET, algorithms=["HS256"], audience="other", issuer="cunyi")
        with pytest.raises(jwt.InvalidIssuerError):
            jwt.decode(token, SECRET, algorithms=["HS256"], audience="jitsi", issuer="someone-else")
    with time_machine.travel(confirmed.ends_at + datetime.timedelta(seconds=1), tick=False):
        with pytest.raises(jwt.ExpiredSignatureError):  # a forwarded link, after the room closed
            verify(token)
    with time_machine.travel(confirmed.starts_at - datetime.timedelta(minutes=11), tick=False):
        with pytest.raises(jwt.ImmatureSignatureError):  # before the room opens
            verify(token)


def test_a_token_names_one_room_only(jitsi, confirmed, doctor_user, consultant):
    other_slot = make_slot(consultant, TOMORROW, 9, 20)
    other_id = api_as(doctor_user).post(URL, booking_payload(other_slot, patient_name="罗阿婆"), format="json").json()["id"]
    api_as(consultant.user).post(f"{URL}{other_id}/confirm/")
    other = ConsultBooking.objects.get(pk=other_id)
    both_open = confirmed.starts_at + datetime.timedelta(minutes=12)  # the second room opened at 09:10
    with time_machine.travel(both_open, tick=False):
        first_room, first_token = token_of(room_access(confirmed, user=doctor_user).url)
        second_room, second_token = token_of(room_access(other, user=doctor_user).url)
    assert first_room != second_room
    with time_machine.travel(both_open, tick=False):
        # prosody compares the token's room claim with the room joined: the first token opens only the first room
        assert verify(first_token)["room"] == first_room != second_room
        assert verify(second_token)["room"] == second_room


def test_while_in_progress_the_token_lasts_to_the_overrun_limit(jitsi, confirmed, consultant, doctor_user):
    with time_machine.travel(confirmed.starts_at, tick=False):
        assert api_as(consultant.user).post(f"{URL}{confirmed.pk}/start/").status_code == 200
    confirmed.refresh_from_db()
    late = confirmed.ends_at + datetime.timedelta(minutes=20)
    with time_machine.travel(late, tick=False):
        access = room_access(confirmed, user=doctor_user)
        assert access.state == "open" and access.overrun
        claims = verify(token_of(access.url)[1])
        assert claims["exp"] == int((confirmed.ends_at + datetime.timedelta(minutes=45)).timestamp())
    with time_machine.travel(confirmed.ends_at + datetime.timedelta(minutes=45, seconds=1), tick=False):
        with pytest.raises(jwt.ExpiredSignatureError):
            verify(token_of(access.url)[1])


def test_only_the_two_parties_get_a_link(jitsi, confirmed, doctor_user, county_admin):
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=doctor_user.scope.facility.township, username="tadmin_video")
    with time_machine.travel(confirmed.starts_at, tick=False):
        for user in (county_admin, township_admin, None):
            access = room_access(confirmed, user=user)
            assert access.state == "open" and access.url == ""
        body = api_as(township_admin).get(f"{URL}{confirmed.pk}/").json()
        assert body["video"]["state"] == "open" and body["video"]["url"] == ""
        mine = api_as(doctor_user).get(f"{URL}{confirmed.pk}/").json()["video"]["url"]
        assert verify(token_of(mine)[1])["context"]["user"]["id"] == str(doctor_user.pk)


def test_the_room_page_gives_the_party_the_link(jitsi, client, confirmed, doctor_user):
    with time_machine.travel(confirmed.starts_at, tick=False):
        client.force_login(doctor_user)
        page = client.get(f"/m/consult/room/{confirmed.room_token}/").content.decode()
        assert f'href="https://meet.leye-health.cn/{room_name(confirmed.room_token)}?jwt=' in page
        assert 'id="join-video"' in page


def test_without_a_jitsi_server_the_room_says_video_is_not_configured(settings, client, confirmed, doctor_user):
    settings.JITSI_BASE_URL = ""
    with time_machine.travel(confirmed.starts_at, tick=False):
        access = room_access(confirmed, user=doctor_user)
        assert access.state == "unconfigured" and access.url == ""
        client.force_login(doctor_user)
        page = client.get(f"/m/consult/room/{confirmed.room_token}/").content.decode()
        assert 'data-state="unconfigured"' in page and "jwt=" not in page and "example" not in page


def test_the_settings_check_refuses_a_server_without_a_secret(settings):
    from telemedicine.checks import jitsi_settings_check

    settings.JITSI_BASE_URL = ""
    assert jitsi_settings_check() == []
    settings.JITSI_BASE_URL = "https://meet.leye-health.cn"
    settings.JITSI_APP_SECRET = ""
    assert [c.id for c in jitsi_settings_check()] == ["telemedicine.E001"]
    settings.JITSI_APP_SECRET = "short"
    assert [c.id for c in jitsi_settings_check()] == ["telemedicine.W001"]
    settings.JITSI_APP_SECRET = SECRET
    assert jitsi_settings_check() == []


def test_a_token_holds_to_its_window_under_a_servers_clock_leeway(jitsi, confirmed, doctor_user):
    """A Jitsi server verifying with a clock leeway (PyJWT's `leeway`, as a deployment with a
    skewed clock would) accepts the token just around its window and nowhere far outside it."""
    opens = confirmed.starts_at - datetime.timedelta(minutes=10)
    with time_machine.travel(opens, tick=False):  # issued the moment the room opens
        _room, token = token_of(room_access(confirmed, user=doctor_user).url)
    for moment, valid in (
        (opens - datetime.timedelta(seconds=20), True),  # 20 s early, inside a 30 s leeway
        (confirmed.ends_at + datetime.timedelta(seconds=20), True),
        (opens - datetime.timedelta(seconds=45), False),
        (confirmed.ends_at + datetime.timedelta(seconds=45), False),
    ):
        with time_machine.travel(moment, tick=False):
            if valid:
                assert verify(token, leeway=30)["room"] == room_name(confirmed.room_token)
            else:
                with pytest.raises((jwt.ExpiredSignatureError, jwt.ImmatureSignatureError)):
                    verify(token, leeway=30)
