"""The doctor's calendar feed as calendar apps read it (RFC 5545): every answer is parsed by
`icalendar` and by the strict parser `ical`, and both must read the same events.

Timed events in Asia/Shanghai with a VTIMEZONE; a reminder the doctor can switch off; UIDs under the
configured domain that belong to one doctor's duty; SEQUENCE and LAST-MODIFIED that grow with each
amendment, a stable DTSTAMP; a duty taken away stays, CANCELLED, for a while; the doctor's language
whatever the app asks for; ETag / Last-Modified and 304."""

import datetime
import re
import zoneinfo
from types import SimpleNamespace

import icalendar
import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.http import http_date
from ical.calendar_stream import IcsCalendarStream
from ical.event import EventStatus

from clinics.models import Role
from clinics.services import facility_save
from core.models import AuditEntry
from staffing.rosters.ical import event_uid, uid_domain
from staffing.rosters.models import CalendarFeed, CoverageGap, DutyDay, FeedEvent, RosterMonth
from staffing.rosters.services.feeds import calendar_feed_get_or_create, calendar_feed_reset, calendar_feed_update
from staffing.rosters.services.gaps import gap_assign_cover
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.leave import leave_decide, leave_request_create
from staffing.rosters.services.publishing import roster_publish
from staffing.rosters.services.swaps import swap_consent, swap_decide, swap_request_create
from tests.factories import TownshipFactory, clinic_with_doctors, make_user
from tests.rosters.conftest import OCT, on_call

D = datetime.date
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
PUBLISHED_AT = datetime.datetime(2026, 9, 25, 9, 0, tzinfo=SHANGHAI)
DOMAIN = "duty.leye.example.cn"


@pytest.fixture
def world(calendar_2026, roles, settings):
    """Two clinics of two doctors in one township; October published on 25 September."""
    settings.ICAL_UID_DOMAIN = DOMAIN
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = False
    with time_machine.travel(PUBLISHED_AT, tick=False) as clock:
        township = TownshipFactory()
        clinic, (a, b) = clinic_with_doctors(2, township=township)
        other, (c, d) = clinic_with_doctors(2, township=township)
        admin = make_user(Role.TOWNSHIP_ADMIN, township=township)
        for doctor in (a, b, c, d):
            make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
        roster_generate(month=OCT)
        roster_publish(month=OCT, township=township, acting_user=admin)
        yield SimpleNamespace(clock=clock, township=township, clinic=clinic, other=other, a=a, b=b, c=c, d=d, admin=admin)


def fetch(doctor, method="get", **headers):
    feed = calendar_feed_get_or_create(doctor=doctor)
    return getattr(Client(), method)(reverse("rosters:ical", args=[feed.token]), **headers)


def read(body: bytes) -> dict:
    """{uid: (icalendar's event, ical's event)}; both parsers must accept the body and find the
    same events; every content line ends in CRLF and is at most 75 octets (RFC 5545 3.1)."""
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    assert max(len(line) for line in body.split(b"\r\n")) <= 75
    loose = icalendar.Calendar.from_ical(body)
    strict = IcsCalendarStream.calendar_from_ics(body.decode())
    loose_events = {str(e["UID"]): e for e in loose.walk("VEVENT")}
    strict_events = {e.uid: e for e in strict.events}
    assert loose_events.keys() == strict_events.keys()
    assert len(loose_events) == len(strict.events)
    return {uid: (loose_events[uid], strict_events[uid]) for uid in loose_events}


def uid(doctor, day, duty="on_call") -> str:
    return event_uid(doctor_id=doctor.pk, day=day, duty=duty)


def status(pair) -> str:
    loose, strict = pair
    assert str(loose["STATUS"]) == strict.status.value
    return strict.status.value


def sequence(pair) -> int:
    loose, strict = pair
    assert int(loose["SEQUENCE"]) == strict.sequence
    return strict.sequence


def modified(pair) -> datetime.datetime:
    loose, strict = pair
    assert loose.decoded("LAST-MODIFIED") == strict.last_modified == loose.decoded("DTSTAMP") == strict.dtstamp
    return strict.last_modified


def alarms(pair) -> list[datetime.timedelta]:
    loose, strict = pair
    found = [a.decoded("TRIGGER") for a in loose.walk("VALARM")]
    assert found == [a.trigger for a in strict.alarm]
    return found


def approve_leave(w, doctor, day):
    leave = leave_request_create(doctor=doctor, kind="annual", start_date=day, end_date=day, reason="探亲",
                                 acting_user=doctor.user)  # fmt: skip
    leave_decide(leave=leave, approve=True, acting_user=w.admin)


def swap(w, giver, taker, day):
    request = swap_request_create(requester=giver, counterpart=taker, give_date=day, take_date=None, reason="家中有事",
                                  acting_user=giver.user)  # fmt: skip
    swap_consent(swap=request, agree=True, acting_user=taker.user)
    swap_decide(swap=request, approve=True, acting_user=w.admin)


def test_published_duties_are_timed_events_in_shanghai_with_their_real_hours(world, settings):
    w = world
    settings.ROSTER_ON_CALL_HOURS = 12
    w.clinic.morning_start, w.clinic.afternoon_end = datetime.time(7, 30), datetime.time(17, 45)
    w.clinic.save(update_fields=["morning_start", "afternoon_end"])
    response = fetch(w.a, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    events = read(response.content)
    loose = icalendar.Calendar.from_ical(response.content)
    strict = IcsCalendarStream.calendar_from_ics(response.content.decode())
    assert [str(tz["TZID"]) for tz in loose.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert [tz.tz_id for tz in strict.timezones] == ["Asia/Shanghai"]

    duties = list(DutyDay.objects.filter(doctor=w.a, roster__status="published"))
    assert {d.duty for d in duties} == {"day", "on_call"}  # a workday duty and a weekend/holiday one
    assert set(events) == {uid(w.a, d.date, d.duty) for d in duties}
    assert all(u.endswith(f"@{DOMAIN}") for u in events)
    for duty in duties:
        pair = events[uid(w.a, duty.date, duty.duty)]
        loose_event, strict_event = pair
        start = datetime.datetime.combine(duty.date, datetime.time(7, 30), tzinfo=SHANGHAI)
        end = (start + datetime.timedelta(hours=12) if duty.duty == "on_call"
               else datetime.datetime.combine(duty.date, datetime.time(17, 45), tzinfo=SHANGHAI))  # fmt: skip
        assert loose_event["DTSTART"].params["TZID"] == "Asia/Shanghai" == loose_event["DTEND"].params["TZID"]
        assert loose_event.decoded("DTSTART") == strict_event.dtstart == start
        assert loose_event.decoded("DTEND") == strict_event.dtend == end
        assert strict_event.dtstart.tzinfo.key == "Asia/Shanghai"
        assert (status(pair), sequence(pair), modified(pair)) == ("CONFIRMED", 0, PUBLISHED_AT)
        assert alarms(pair) == [-datetime.timedelta(minutes=settings.ICAL_ALARM_MINUTES_BEFORE)]
    assert b"TZID=Asia/Shanghai:20261001T073000" in response.content

    # Fetched again a day later: the same bytes (DTSTAMP is the event's last change, not "now").
    w.clock.shift(datetime.timedelta(days=1))
    assert fetch(w.a).content == response.content


def test_uid_domain_is_configured_or_taken_from_allowed_hosts(settings):
    settings.ICAL_UID_DOMAIN = "cunyi.leye.gov.cn"
    assert uid_domain() == "cunyi.leye.gov.cn"
    settings.ICAL_UID_DOMAIN = ""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "*", ".cunyi.baise.example.cn", "other.example"]
    assert uid_domain() == "cunyi.baise.example.cn"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    assert uid_domain() == "cunyi.invalid"
    assert event_uid(doctor_id=7, day=D(2026, 10, 3), duty="on_call") == "duty-7-20261003-on-call@cunyi.invalid"


def test_leave_cancels_the_duty_with_a_higher_sequence_and_the_replacement_gets_its_own_event(world):
    w = world
    day = D(2026, 10, 3)  # a public holiday: the colleague takes the on-call duty over
    first = on_call(w.clinic, day)
    colleague = w.b if first == w.a else w.a
    before = read(fetch(first).content)[uid(first, day)]
    assert (status(before), sequence(before)) == ("CONFIRMED", 0)

    w.clock.shift(datetime.timedelta(days=1, hours=2))
    amended_at = PUBLISHED_AT + datetime.timedelta(days=1, hours=2)
    approve_leave(w, first, day)
    assert on_call(w.clinic, day) == colleague

    mine = read(fetch(first).content)
    cancelled = mine[uid(first, day)]
    assert status(cancelled) == "CANCELLED" and cancelled[1].status == EventStatus.CANCELLED
    assert sequence(cancelled) == 1 and modified(cancelled) == amended_at > modified(before)
    assert alarms(cancelled) == []  # no reminder for a duty that is not yours
    assert uid(colleague, day) not in mine

    theirs = read(fetch(colleague).content)
    taken = theirs[uid(colleague, day)]
    assert uid(colleague, day) != uid(first, day) and uid(first, day) not in theirs
    assert (status(taken), sequence(taken), modified(taken)) == ("CONFIRMED", 0, amended_at)
    # Only the two changed events are stored; the rest of the month has no row.
    assert FeedEvent.objects.count() == 2


def test_a_swap_moves_the_duty_to_a_new_uid_and_back(world):
    w = world
    day = next(d.date for d in DutyDay.objects.filter(doctor=w.a, duty="on_call", day_kind="weekend").order_by("date"))
    w.clock.shift(datetime.timedelta(hours=1))
    swap(w, w.a, w.b, day)
    a_feed, b_feed = read(fetch(w.a).content), read(fetch(w.b).content)
    assert (status(a_feed[uid(w.a, day)]), sequence(a_feed[uid(w.a, day)])) == ("CANCELLED", 1)
    assert (status(b_feed[uid(w.b, day)]), sequence(b_feed[uid(w.b, day)])) == ("CONFIRMED", 0)
    assert uid(w.a, day) not in b_feed and uid(w.b, day) not in a_feed
    first_change = modified(a_feed[uid(w.a, day)])

    w.clock.shift(datetime.timedelta(hours=1))
    swap(w, w.b, w.a, day)  # and back: the same event of the first doctor again, one revision on
    a_feed, b_feed = read(fetch(w.a).content), read(fetch(w.b).content)
    back = a_feed[uid(w.a, day)]
    assert (status(back), sequence(back)) == ("CONFIRMED", 2) and modified(back) > first_change
    assert alarms(back) != []
    assert (status(b_feed[uid(w.b, day)]), sequence(b_feed[uid(w.b, day)])) == ("CANCELLED", 1)


def test_a_cover_duty_is_a_new_event_in_the_covering_doctors_feed(world):
    w = world
    day = D(2026, 10, 3)  # a holiday: both doctors of the clinic away leaves a gap
    for doctor in (w.a, w.b):
        approve_leave(w, doctor, day)
    gap = CoverageGap.objects.get(facility=w.clinic, date=day)
    w.clock.shift(datetime.timedelta(hours=3))
    helper = next(doctor for doctor in (w.c, w.d) if not DutyDay.objects.filter(doctor=doctor, date=day).exists())
    gap_assign_cover(gap=gap, doctor=helper, acting_user=w.admin, reason="同乡支援")
    event = read(fetch(helper).content)[uid(helper, day)]
    assert (status(event), sequence(event)) == ("CONFIRMED", 0)
    assert str(event[0]["LOCATION"]) == event[1].location == w.clinic.name
    # The doctor on call had it taken over by the colleague, whose leave then cancelled it too.
    for doctor in (w.a, w.b):
        assert status(read(fetch(doctor).content)[uid(doctor, day)]) == "CANCELLED"


def test_a_cancelled_duty_stays_for_the_configured_days_then_goes(world, settings):
    w = world
    settings.ICAL_CANCELLED_KEEP_DAYS = 60
    day = D(2026, 10, 3)
    first = on_call(w.clinic, day)
    approve_leave(w, first, day)
    w.clock.shift(datetime.timedelta(days=59))
    assert status(read(fetch(first).content)[uid(first, day)]) == "CANCELLED"
    kept = fetch(first)
    w.clock.shift(datetime.timedelta(days=2))
    gone = fetch(first, HTTP_IF_MODIFIED_SINCE=kept["Last-Modified"])
    assert gone.status_code == 200 and uid(first, day) not in read(gone.content)
    # The body changed when the cancellation's time ran out: Last-Modified says so, not older.
    expired = PUBLISHED_AT + datetime.timedelta(days=60)
    assert gone["Last-Modified"] == http_date(expired.timestamp()) != kept["Last-Modified"]


def test_last_modified_moves_on_when_the_window_does(world):
    """At a month's start the window takes in another month and drops one: a copy fetched before
    is not current, though no duty changed."""
    w = world
    before = fetch(w.a)
    w.clock.move_to(datetime.datetime(2026, 12, 1, 0, 30, tzinfo=SHANGHAI))
    after = fetch(w.a, HTTP_IF_MODIFIED_SINCE=before["Last-Modified"])
    assert after.status_code == 200 and after["Last-Modified"] == "Mon, 30 Nov 2026 16:00:00 GMT"
    assert fetch(w.a, HTTP_IF_MODIFIED_SINCE=after["Last-Modified"]).status_code == 304


def test_a_duty_changed_outside_the_feed_record_still_gets_a_higher_sequence(world):
    """The record says the duty is the doctor's (SEQUENCE 1) but it is gone without a cancellation
    being recorded: the feed shows it cancelled one revision on, so an app holding 1 updates."""
    w = world
    day = D(2026, 10, 3)
    first = on_call(w.clinic, day)
    swap(w, first, w.b if first == w.a else w.a, day)
    swap(w, w.b if first == w.a else w.a, first, day)
    assert sequence(read(fetch(first).content)[uid(first, day)]) == 2
    DutyDay.objects.filter(doctor=first, date=day).delete()  # as a bug or a hand edit would
    gone = read(fetch(first).content)[uid(first, day)]
    assert (status(gone), sequence(gone)) == ("CANCELLED", 3)


def test_conditional_requests_get_304_until_the_feed_changes(world):
    w = world
    first = fetch(w.a)
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag) and last_modified == "Fri, 25 Sep 2026 01:00:00 GMT"
    assert first["Content-Language"] == "zh-hans"

    w.clock.shift(datetime.timedelta(hours=5))
    same = fetch(w.a, HTTP_IF_NONE_MATCH=etag)
    assert same.status_code == 304 and same.content == b"" and same["ETag"] == etag
    assert fetch(w.a, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert fetch(w.a, "head", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert fetch(w.a, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    assert fetch(w.a, "post").status_code == 405

    approve_leave(w, w.a, next(d.date for d in DutyDay.objects.filter(doctor=w.a, duty="day")))
    changed = fetch(w.a, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed["Last-Modified"] == "Fri, 25 Sep 2026 06:00:00 GMT"
    assert fetch(w.a, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 200
    assert fetch(w.a, HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


def test_the_doctor_switches_the_reminder_off_or_changes_it_on_the_phone(world):
    w = world
    phone = Client()
    phone.force_login(w.a.user)
    page = phone.get(reverse("rosters:feed-settings"))
    assert page.status_code == 200 and b'name="alarm"' in page.content and b'name="language"' in page.content
    etag = fetch(w.a)["ETag"]

    w.clock.shift(datetime.timedelta(minutes=10))
    saved = phone.post(reverse("rosters:feed-settings"), {"alarm_minutes": "720", "language": "zh-hans"})  # box unticked
    assert saved.status_code == 302
    off = fetch(w.a, HTTP_IF_NONE_MATCH=etag)
    assert off.status_code == 200 and off["Last-Modified"] == "Fri, 25 Sep 2026 01:10:00 GMT"
    assert all(alarms(pair) == [] for pair in read(off.content).values()) and b"VALARM" not in off.content

    phone.post(reverse("rosters:feed-settings"), {"alarm": "on", "alarm_minutes": "60", "language": "zh-hans"})
    on = read(fetch(w.a).content)
    assert all(alarms(pair) == [-datetime.timedelta(hours=1)] for pair in on.values())
    assert AuditEntry.objects.filter(action="calendar_feed.update").count() == 2

    refused = phone.post(reverse("rosters:feed-settings"), {"alarm": "on", "alarm_minutes": "99999", "language": "xx"})
    assert refused.status_code == 200 and set(refused.context["form"].errors) == {"alarm_minutes", "language"}
    feed = CalendarFeed.objects.get(doctor=w.a)
    assert (feed.alarm, feed.alarm_minutes, feed.language) == (True, 60, "zh-hans")

    # A new address keeps the choices; the old one stops working.
    old = feed.token
    calendar_feed_reset(doctor=w.a, acting_user=w.a.user)
    feed.refresh_from_db()
    assert feed.token != old and (feed.alarm, feed.alarm_minutes) == (True, 60)
    assert Client().get(reverse("rosters:ical", args=[old])).status_code == 404


def test_titles_are_in_the_doctors_language_whatever_the_app_asks_for(world):
    w = world
    with translation.override("zh-hans"):
        chinese = translation.gettext("On call")
    with translation.override("en"):
        english = translation.gettext("On call")
    assert chinese != english

    asked_in_english = fetch(w.a, HTTP_ACCEPT_LANGUAGE="en")
    assert asked_in_english["Content-Language"] == "zh-hans"
    summaries = [str(loose["SUMMARY"]) for loose, _strict in read(asked_in_english.content).values()]
    assert any(s.startswith(f"{chinese} · ") for s in summaries) and not any(english in s for s in summaries)
    assert "X-WR-CALNAME:值班：" in asked_in_english.content.decode()

    calendar_feed_update(doctor=w.a, acting_user=w.a.user, alarm=True, alarm_minutes=720, language="en")
    asked_in_chinese = fetch(w.a, HTTP_ACCEPT_LANGUAGE="zh-hans,zh;q=0.9")
    assert asked_in_chinese["Content-Language"] == "en"
    pairs = read(asked_in_chinese.content).values()
    assert any(strict.summary.startswith(f"{english} · ") for _loose, strict in pairs)
    assert not any(chinese in strict.summary.split(" · ")[0] for _loose, strict in pairs)


def test_a_feed_shows_only_its_own_doctor(world):
    w = world
    swap(w, w.c, w.d, next(d.date for d in DutyDay.objects.filter(doctor=w.c, duty="on_call").order_by("date")))
    body = fetch(w.a).content
    events = read(body)
    assert events and all(u.startswith(f"duty-{w.a.pk}-") for u in events)
    for other in (w.b, w.c, w.d):
        assert other.name.encode() not in body
    assert w.other.name.encode() not in body
    assert Client().get(reverse("rosters:ical", args=["not-a-token"])).status_code == 404


def test_drafts_are_not_in_the_feed_until_published(world):
    w = world
    nov = D(2026, 11, 1)
    roster_generate(month=nov)
    roster_generate(month=nov)  # planned again: still a draft, nothing recorded for the feeds
    assert FeedEvent.objects.count() == 0
    assert not any(u.split("-")[2].startswith("202611") for u in read(fetch(w.a).content))

    w.clock.shift(datetime.timedelta(days=3))
    roster_publish(month=nov, township=w.township, acting_user=w.admin)
    published = RosterMonth.objects.get(facility=w.clinic, month=nov).published_at
    november = {u: pair for u, pair in read(fetch(w.a).content).items() if u.split("-")[2].startswith("202611")}
    assert len(november) == DutyDay.objects.filter(doctor=w.a, date__month=11).count() > 0
    assert all((status(p), sequence(p), modified(p)) == ("CONFIRMED", 0, published) for p in november.values())
    assert FeedEvent.objects.count() == 0


def test_the_feed_costs_the_same_queries_however_many_duties_and_changes(world):
    w = world

    def queries() -> int:
        fetch(w.a)  # the feed row exists before counting
        with CaptureQueriesContext(connection) as captured:
            assert fetch(w.a).status_code == 200
        return len(captured)

    small = queries()
    nov = D(2026, 11, 1)
    roster_generate(month=nov)
    roster_publish(month=nov, township=w.township, acting_user=w.admin)
    for day in (D(2026, 10, 3), D(2026, 11, 7), D(2026, 11, 8)):
        approve_leave(w, on_call(w.clinic, day), day)
    days = DutyDay.objects.filter(doctor=w.a, roster__status="published").count()
    assert days > 20 and FeedEvent.objects.filter(doctor=w.a).exists()
    assert queries() == small <= 5


def test_new_opening_hours_move_the_times_as_an_amendment_of_every_event_of_the_clinic(world):
    w = world
    day = D(2026, 10, 3)
    first = on_call(w.clinic, day)
    colleague = w.b if first == w.a else w.a
    before = read(fetch(first).content)
    event = before[uid(first, day)]
    assert (sequence(event), event[0].decoded("DTSTART").time()) == (0, datetime.time(8, 0))

    w.clock.shift(datetime.timedelta(days=2))
    changed_at = PUBLISHED_AT + datetime.timedelta(days=2)
    facility_save(facility=w.clinic, acting_user=w.admin, morning_start=datetime.time(7, 30))
    after = read(fetch(first).content)
    moved = after[uid(first, day)]
    assert moved[0].decoded("DTSTART").time() == datetime.time(7, 30)
    assert (sequence(moved), modified(moved)) == (1, changed_at)
    # Every event of the clinic counts the change; the other clinic's doctors see nothing new.
    assert all(sequence(pair) == 1 for pair in after.values())
    other_doctor = w.c
    assert all(sequence(pair) == 0 for pair in read(fetch(other_doctor).content).values())
    # A name change is no amendment of the times.
    facility_save(facility=w.clinic, acting_user=w.admin, name="同乐村卫生室（新址）")
    assert sequence(read(fetch(first).content)[uid(first, day)]) == 1

    # A later duty change still grows the SEQUENCE: leave cancels it one above what it showed.
    w.clock.shift(datetime.timedelta(hours=1))
    approve_leave(w, first, day)
    cancelled = read(fetch(first).content)[uid(first, day)]
    assert (status(cancelled), sequence(cancelled)) == ("CANCELLED", 2)
    taken = read(fetch(colleague).content)[uid(colleague, day)]
    assert status(taken) == "CONFIRMED" and sequence(taken) >= 1
