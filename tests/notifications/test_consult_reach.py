"""Consult messages reach both sides by SMS at the mobile on the register, resolved by the apps
that know the person (staffing for the village doctor, telemedicine for a consultant linked to a
register entry), although telemedicine passes no address at all."""

import datetime
import zoneinfo

import pytest
import time_machine

from notifications.models import Channel, Notification
from staffing.rosters.models import CalendarYear
from telemedicine.models import ConsultBooking
from tests.conftest import api_as
from tests.factories import DoctorFactory
from tests.telemedicine.factories import booking_payload, consultant_with_login, make_slot, village_doctor

pytestmark = pytest.mark.django_db
URL = "/api/v1/teleconsult/bookings/"
NOW = datetime.datetime(2026, 12, 1, 8, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))


def sms_to(user, kind):
    return set(
        Notification.objects.filter(recipient=user, kind=kind, channel=Channel.SMS).values_list("address", flat=True)
    )


def test_consult_sms_reach_the_doctor_and_the_consultant_at_their_registered_mobiles(roles, no_kick):
    CalendarYear.objects.get_or_create(year=2026)  # slots are offered only in a year with a holiday calendar
    with time_machine.travel(NOW, tick=False):
        consultant = consultant_with_login(username="dr_huang")
        consultant.doctor = DoctorFactory(mobile="13977770001", wecom_userid="HuangZhuren")
        consultant.save(update_fields=["doctor"])
        doctor_user = village_doctor(username="vd_wei")
        doctor_user.doctor.mobile = "13977770002"
        doctor_user.doctor.save(update_fields=["mobile"])
        slot = make_slot(consultant, datetime.date(2026, 12, 2), 9, 0)

        created = api_as(doctor_user).post(URL, booking_payload(slot), format="json")
        assert created.status_code == 201, created.content
        booking = ConsultBooking.objects.get(pk=created.json()["id"])
        assert api_as(consultant.user).post(f"{URL}{booking.pk}/confirm/", {}, format="json").status_code == 200

    assert sms_to(consultant.user, "consult_booked") == {"13977770001"}
    assert sms_to(doctor_user, "consult_confirmed") == {"13977770002"}
    assert sms_to(doctor_user, "consult_reminder_24h") == {"13977770002"}
    assert sms_to(consultant.user, "consult_reminder_30m") == {"13977770001"}
    sent_bodies = Notification.objects.filter(channel=Channel.SMS).values_list("body", flat=True)
    assert not any("13977770002" in body for body in sent_bodies)  # an address, never text
