"""The phone shell without a browser: tile icons as inline SVG (no emoji), every phone page within
the size budget gzipped and needing no stylesheet request, the manifest, the service worker's
scope, the log-out that wipes the phone, pending leave on the calendar, and the leave form's
request id that makes a resend the same request."""

import datetime
import gzip
import json
import re
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import resolve, reverse
from django.utils import timezone

from clinics.models import Role
from clinics.scoping import user_role
from core.months import next_month
from core.portal import MENU, register_menu_item
from notifications.models import Notification
from staffing.payroll import services as payroll
from staffing.payroll.models import PayRun
from staffing.payroll.seeding import seed_payroll
from staffing.rosters.models import LeaveRequest
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.holidays import holiday_year_load
from staffing.rosters.services.leave import leave_decide, leave_request_create
from staffing.rosters.services.publishing import roster_publish
from tests.factories import FacilityFactory, PostingFactory, make_user
from tests.notifications.conftest import make_due

pytestmark = pytest.mark.django_db

BUDGET = 8 * 1024  # bytes gzipped per phone page: HTML with its inline CSS and script (README)
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f\u200d]")
BLOCKING_CSS = re.compile(r"<link[^>]+rel=[\"']?stylesheet", re.I)
BLOCKING_SCRIPT = re.compile(r"<script[^>]+src=(?![^>]*\b(?:defer|async)\b)[^>]*>", re.I)


@pytest.fixture
def national_day_week():
    with time_machine.travel(datetime.datetime(2026, 10, 8, 9, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")), tick=True):
        yield


@pytest.fixture
def busy_doctor(roles, national_day_week):
    """A village doctor with everything a phone page can list: two published months of duty,
    pending and approved leave, a payslip, a full page of messages."""
    holiday_year_load(year=2026)
    posting = PostingFactory(doctor__name="韦秀英", facility__name="同乐村卫生室")
    for _ in range(2):
        PostingFactory(facility=posting.facility)
    user = make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="weixiuying")
    october = datetime.date(2026, 10, 1)
    for month in (october, next_month(october)):
        roster_generate(month=month)
        roster_publish(month=month, acting_user=None)
    approved = leave_request_create(
        doctor=posting.doctor, kind="training", start_date=datetime.date(2026, 10, 20),
        end_date=datetime.date(2026, 10, 21), reason="县级培训", acting_user=None,
    )
    leave_decide(leave=approved, approve=True, acting_user=None)
    leave_request_create(
        doctor=posting.doctor, kind="annual", start_date=datetime.date(2026, 11, 3),
        end_date=datetime.date(2026, 11, 5), reason="探亲", acting_user=None,
    )
    seed_payroll({})
    run = payroll.payrun_calculate(run=payroll.payrun_create(month=datetime.date(2026, 9, 1), acting_user=None), acting_user=None)
    payroll.payrun_approve(run=PayRun.objects.get(pk=run.pk), acting_user=None, acknowledge_warnings=True)
    rows = make_due(user, FacilityFactory(), 30, bodies=[f"{i + 1}号排班表已发布，请打开查看本月值班安排与调整说明。" for i in range(30)])
    Notification.objects.filter(pk__in=[r.pk for r in rows]).update(status="sent", sent_at=timezone.now())
    return user


def phone_pages(user) -> list[str]:
    slip = user.doctor.payslips.order_by("-run__month").first()
    return [
        reverse("portal:home"),
        reverse("rosters:my-duty"),
        reverse("rosters:leave-new"),
        reverse("rosters:swap-new"),
        reverse("payroll:index"),
        reverse("payroll:payslip", args=[slip.pk]),
        reverse("notifications:inbox"),
        reverse("notifications:preferences"),
        reverse("telemedicine:my_bookings"),
        reverse("telemedicine:find_slots"),
    ]


# Names under /m/ that answer a GET with something other than an HTML page: files and feeds.
# (POST-only steps are found by their 405 to a GET.)
NOT_PAGES = {"portal:sw", "portal:manifest", "rosters:ical", "payroll:payslip_pdf"}


def portal_urls() -> dict[str, str]:
    """Every URL name under /m/ with a URL for it (path arguments 1 or "x")."""
    from django.urls import URLResolver, get_resolver

    found = {}

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern), namespace + (f"{pattern.namespace}:" if pattern.namespace else ""))
            elif (prefix + str(pattern.pattern)).startswith("m/") and pattern.name:
                converters = getattr(pattern.pattern, "converters", {})
                kwargs = {key: 1 if type(c).__name__ == "IntConverter" else "x" for key, c in converters.items()}
                found[namespace + pattern.name] = reverse(namespace + pattern.name, kwargs=kwargs)

    walk(get_resolver().url_patterns, "", "")
    return found


@pytest.fixture
def consults(busy_doctor):
    """The doctor's consults with a consultant: one completed with its outcome, one running (its
    room open), one requested for the next day (its history shows the other two), a free slot."""
    from telemedicine.services import bookings
    from tests.telemedicine.factories import consultant_with_login, make_slot, patient

    clinic = busy_doctor.doctor.postings.get().facility
    clinic.telemedicine_enabled = True
    clinic.save(update_fields=["telemedicine_enabled"])
    consultant = consultant_with_login(username="dr_budget")
    oct8, oct9 = datetime.date(2026, 10, 8), datetime.date(2026, 10, 9)
    slots = [make_slot(consultant, oct8, 9, 0), make_slot(consultant, oct8, 9, 40), make_slot(consultant, oct9, 10, 0)]
    free = make_slot(consultant, oct9, 11, 0)
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    with time_machine.travel(datetime.datetime(2026, 10, 7, 8, 0, tzinfo=shanghai), tick=False):
        done, running, asked = (
            bookings.booking_create(slot_id=slot.pk, acting_user=busy_doctor, patient=patient(), chief_complaint="反复头晕两周，血压 170/100")
            for slot in slots
        )
        for booking in (done, running):
            bookings.booking_confirm(booking=booking, acting_user=consultant.user)
    with time_machine.travel(datetime.datetime(2026, 10, 8, 9, 1, tzinfo=shanghai), tick=False):
        bookings.booking_start(booking=done, acting_user=consultant.user)
        bookings.booking_complete(booking=done, acting_user=consultant.user, findings="血压 168/98，心率 80 次/分",
                                  advice="继续降压治疗，每日测血压", follow_up_date=datetime.date(2026, 10, 22))
    bookings.booking_start(booking=running, acting_user=consultant.user)
    running.refresh_from_db()
    return {"consultant": consultant.user, "running": running, "asked": asked, "free": free}


def every_phone_page(doctor, consults) -> list[tuple[object, str]]:
    """(who, url) for every HTML page under /m/: the sign-in page, the doctor's pages, the
    consult pages of both sides."""
    consultant, running, asked = consults["consultant"], consults["running"], consults["asked"]
    return [
        (None, reverse("portal:login")),
        (doctor, reverse("portal:password_set")),
        (doctor, reverse("rosters:feed-settings")),
        *((doctor, url) for url in phone_pages(doctor)),
        (doctor, reverse("telemedicine:book", args=[consults["free"].pk])),
        (doctor, reverse("telemedicine:booking_detail", args=[asked.pk])),
        (doctor, reverse("telemedicine:reschedule", args=[asked.pk])),
        (doctor, reverse("telemedicine:room", args=[running.room_token])),
        (consultant, reverse("portal:home")),
        (consultant, reverse("telemedicine:queue")),
        (consultant, reverse("telemedicine:schedule") + "?date=2026-10-08"),
        (consultant, reverse("telemedicine:booking_detail", args=[running.pk])),
        (consultant, reverse("telemedicine:outcome", args=[running.pk])),
    ]


def test_every_phone_page_fits_the_budget_gzipped_in_one_round_trip(client, busy_doctor, consults, settings):
    """Every HTML page under /m/, as the person who reads it, with lists filled: gzipped, within
    BUDGET, its CSS inline and no blocking script. A new page under /m/ fails here until listed."""
    settings.JITSI_BASE_URL = "https://meet.leye-health.cn"
    settings.JITSI_APP_SECRET = "a-budget-test-secret-of-forty-chars-0000"
    pages = every_phone_page(busy_doctor, consults)
    measured = {resolve(url.split("?")[0]).view_name for _who, url in pages}
    client.force_login(busy_doctor)
    for name, url in portal_urls().items():
        if name not in measured and name not in NOT_PAGES:
            assert client.get(url).status_code == 405, f"{name} is a phone page: measure it here (or list it in NOT_PAGES)"
    sizes, pages_html = {}, {}
    for who, url in pages:
        client.logout()
        if who is not None:
            client.force_login(who)
        response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200, url
        assert response["Content-Encoding"] == "gzip", url
        html = gzip.decompress(response.content).decode()
        key = f"{user_role(who) if who else 'anonymous'} {url}"
        sizes[key] = len(response.content)
        assert len(response.content) <= BUDGET, f"{key} is {len(response.content)} bytes gzipped, over {BUDGET}"
        head = html.split("</head>")[0]
        assert not BLOCKING_CSS.search(html), f"{url} asks for a stylesheet before it can paint"
        assert not BLOCKING_SCRIPT.search(head), f"{url} loads a blocking script"
        assert "<style>" in head and ".card" in head, "the portal's CSS is inline"
        pages_html[key] = html
    # measured full: the history with its outcome, the open room with its token, the filled queue
    assert "patient-history" in pages_html[f"village_doctor /m/consult/{consults['asked'].pk}/"]
    assert "?jwt=" in pages_html[f"village_doctor /m/consult/room/{consults['running'].room_token}/"]
    assert f'data-booking="{consults["asked"].pk}"' in pages_html["consultant /m/consult/queue/"]
    heaviest = max(sizes, key=sizes.get)
    print(f"\nphone pages gzipped (bytes, budget {BUDGET}):")
    for url, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"  {size:5d}  {url}")
    print(f"heaviest: {heaviest} = {sizes[heaviest]} bytes ({sizes[heaviest] / 1024:.1f} KB)")


def test_tiles_are_inline_svg_and_no_phone_page_has_an_emoji(client, busy_doctor):
    client.force_login(busy_doctor)
    home = client.get(reverse("portal:home")).content.decode()
    tiles = re.findall(r"<a href=\"[^\"]+\" data-menu=\"([^\"]+)\">(.*?)</a>", home, re.S)
    assert {"duty", "leave", "payslips", "inbox"} <= {key for key, _ in tiles}
    for key, inner in tiles:
        assert inner.lstrip().startswith("<svg") and ("<path" in inner or "<circle" in inner), key
    for url in phone_pages(busy_doctor):
        html = client.get(url).content.decode()
        found = EMOJI.findall(html)
        assert not found, f"{url} has emoji {found}"


def test_every_registered_tile_names_a_known_icon():
    from core.portal import ICONS

    assert MENU and all(item.icon in ICONS for item in MENU.values())
    with pytest.raises(ValueError):
        register_menu_item(key="bad", label="x", url_name="portal:home", roles=[], icon="📅")
    assert "bad" not in MENU


def test_home_asks_to_keep_the_offline_pages(client, busy_doctor):
    client.force_login(busy_doctor)
    html = client.get(reverse("portal:home")).content.decode()
    urls = json.loads(re.search(r'data-precache-urls="([^"]+)"', html).group(1).replace("&quot;", '"'))
    assert set(urls) == {reverse("rosters:my-duty"), reverse("rosters:leave-new"), reverse("payroll:index"), reverse("notifications:inbox")}
    payslips = client.get(reverse("payroll:index")).content.decode()
    assert re.search(r'href="/m/pay/\d+/"[^>]*data-precache', payslips)


def test_each_page_carries_its_saved_at_time_for_the_offline_copy(client, busy_doctor):
    client.force_login(busy_doctor)
    for url in (reverse("rosters:my-duty"), reverse("payroll:index"), reverse("notifications:inbox")):
        html = client.get(url).content.decode()
        note = re.search(r'<p class="offline-note" data-offline-note hidden>(.*?)</p>', html).group(1)
        assert "2026-10-08 09:3" in note, note  # China time, to the minute


def test_manifest_and_service_worker(client):
    manifest = client.get(reverse("portal:manifest"))
    assert manifest["Content-Type"].startswith("application/manifest+json")
    data = json.loads(manifest.content)
    assert data["short_name"] == "村医" and data["lang"] == "zh-CN"
    assert data["start_url"] == "/m/" and data["scope"] == "/m/" and data["display"] == "standalone"
    types = {icon["type"] for icon in data["icons"]}
    assert types == {"image/svg+xml", "image/png"}
    for icon in data["icons"]:
        assert icon["src"].startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/" + settings.STATIC_URL)
        assert finders.find(icon["src"].split("static/", 1)[1]), icon["src"]

    worker = client.get(reverse("portal:sw"))
    assert worker.status_code == 200 and worker["Content-Type"].startswith("application/javascript")
    assert reverse("portal:sw") == "/m/sw.js" and worker["Service-Worker-Allowed"] == "/m/"
    assert worker["Cache-Control"] == "no-cache"
    body = worker.content.decode()
    assert 'const SCOPE = "/m/"' in body and "/m/login/" in body and "/m/duty/ical/" in body


def test_log_out_clears_what_the_phone_kept(client, busy_doctor):
    client.force_login(busy_doctor)
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert "_auth_user_id" not in client.session


def test_admin_and_api_are_not_compressed(client, county_admin):
    client.force_login(county_admin)
    for url in ("/admin/", "/api/v1/notifications/"):
        response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200, url
        assert not response.has_header("Content-Encoding"), url


def test_calendar_marks_pending_and_approved_leave_apart(client, busy_doctor):
    client.force_login(busy_doctor)
    html = client.get(reverse("rosters:my-duty")).content.decode()
    cells = dict(re.findall(r'data-date="(\d{4}-\d\d-\d\d)" data-leave="(\w+)"', html))
    assert cells == {
        "2026-10-20": "approved", "2026-10-21": "approved",
        "2026-11-03": "pending", "2026-11-04": "pending", "2026-11-05": "pending",
    }
    assert "leave-pending" in html and 'class="d pending"' in html


def leave_post(client, ref, **fields):
    data = {"kind": "annual", "start_date": "2026-11-16", "end_date": "2026-11-17", "reason": "探亲", "client_ref": ref, **fields}
    return client.post(reverse("rosters:leave-new"), data)


def test_a_resent_leave_request_is_the_same_request(client, busy_doctor):
    client.force_login(busy_doctor)
    ref = "3f1c2a9e-8b7d-4c55-9e0a-1b2c3d4e5f60"
    first = leave_post(client, ref)
    assert first.status_code == 302 and first["Location"] == reverse("rosters:my-duty")
    again = leave_post(client, ref)
    assert again.status_code == 302 and again["Location"] == reverse("rosters:my-duty")
    stored = LeaveRequest.objects.filter(doctor=busy_doctor.doctor, start_date=datetime.date(2026, 11, 16))
    assert stored.count() == 1 and stored.get().client_ref == ref
    # Another request for the same days (a new id) is the overlap it always was.
    other = leave_post(client, "a-different-request-id")
    assert other.status_code == 200 and "errorlist" in other.content.decode()
    assert stored.count() == 1


def test_a_malformed_request_id_is_refused_and_nothing_is_stored(client, busy_doctor):
    client.force_login(busy_doctor)
    response = leave_post(client, "<script>")
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not LeaveRequest.objects.filter(start_date=datetime.date(2026, 11, 16)).exists()


def test_the_request_id_is_per_doctor(client, busy_doctor):
    colleague = PostingFactory(facility=busy_doctor.doctor.postings.get().facility).doctor
    ref = "shared-id-0001"
    mine = leave_request_create(
        doctor=busy_doctor.doctor, kind="sick", start_date=datetime.date(2026, 12, 1), end_date=datetime.date(2026, 12, 1),
        reason="发烧", acting_user=None, client_ref=ref,
    )
    theirs = leave_request_create(
        doctor=colleague, kind="sick", start_date=datetime.date(2026, 12, 1), end_date=datetime.date(2026, 12, 1),
        reason="发烧", acting_user=None, client_ref=ref,
    )
    assert mine.pk != theirs.pk and LeaveRequest.objects.filter(client_ref=ref).count() == 2

