"""The doctor's calendar-feed page on a 390x844 phone: the reminder box sits beside its label, the
doctor switches the reminder off and the feed then has no VALARM (screenshots feed_settings*)."""

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from clinics.models import Role
from staffing.rosters.models import CalendarFeed
from tests.browser import login
from tests.factories import PostingFactory, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/shots/api")


def test_the_doctor_switches_the_feed_reminder_off_on_the_phone(phone, live_server, roles):
    posting = PostingFactory()
    make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="vd_feed")
    SHOTS.mkdir(parents=True, exist_ok=True)
    login(phone, live_server.url, "vd_feed")
    phone.goto(f"{live_server.url}{reverse('rosters:feed-settings')}")
    box, label = phone.locator("label.feed-alarm input").bounding_box(), phone.locator("label.feed-alarm span").bounding_box()
    assert box["width"] < 40 and box["x"] + box["width"] < label["x"]  # beside its label, not a full-width row
    assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) < 12
    phone.screenshot(path=str(SHOTS / "feed_settings.png"), full_page=True)

    phone.uncheck("label.feed-alarm input")
    phone.select_option("select[name=alarm_minutes]", "60")
    with phone.expect_navigation():
        phone.click("form.card button[type=submit]")
    phone.screenshot(path=str(SHOTS / "feed_settings_saved.png"), full_page=True)
    assert phone.url.endswith(reverse("rosters:my-duty"))
    feed = CalendarFeed.objects.get(doctor=posting.doctor)
    assert (feed.alarm, feed.alarm_minutes) == (False, 60)
    body = Client().get(reverse("rosters:ical", args=[feed.token])).content
    assert b"BEGIN:VCALENDAR" in body and b"VALARM" not in body
