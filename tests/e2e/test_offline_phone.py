"""The phone without a network (Chromium, the service worker live): pages kept after log-in and on
each visit read offline with the time they were saved; a leave request made offline is kept on the
phone as "not yet sent" and sent once when the network returns, also after the session ended and
the doctor logged in again; log-out leaves nothing on the phone."""

import datetime
import time
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.contrib.sessions.models import Session

from clinics.models import Role
from staffing.payroll import services as payroll
from staffing.payroll.models import PayRun
from staffing.payroll.seeding import seed_payroll
from staffing.rosters.models import LeaveRequest
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.holidays import holiday_year_load
from staffing.rosters.services.leave import leave_request_create
from staffing.rosters.services.publishing import roster_publish
from tests.e2e.conftest import follow, login
from tests.factories import PostingFactory, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/phone")
CACHE = "cunyi-pages-v1"
OCT, NOV = datetime.date(2026, 10, 1), datetime.date(2026, 11, 1)


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def national_day_week():
    with time_machine.travel(datetime.datetime(2026, 10, 8, 9, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")), tick=True):
        yield


@pytest.fixture
def doctor(national_day_week):
    holiday_year_load(year=2026)
    posting = PostingFactory(doctor__name="韦秀英", facility__name="同乐村卫生室")
    PostingFactory(facility=posting.facility, doctor__name="黄德明")
    make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="weixiuying")
    for month in (OCT, NOV):
        roster_generate(month=month)
        roster_publish(month=month, acting_user=None)
    leave_request_create(
        doctor=posting.doctor, kind="training", start_date=datetime.date(2026, 11, 10),
        end_date=datetime.date(2026, 11, 11), reason="县级培训", acting_user=None,
    )
    seed_payroll({})
    run = payroll.payrun_calculate(run=payroll.payrun_create(month=datetime.date(2026, 9, 1), acting_user=None), acting_user=None)
    payroll.payrun_approve(run=PayRun.objects.get(pk=run.pk), acting_user=None, acknowledge_warnings=True)
    return posting.doctor


@pytest.fixture
def context(browser):
    from tests.browser import PHONE

    # Service workers allowed (Playwright's default; "block" would switch them off).
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    yield context
    context.close()


def kept(page) -> list[str]:
    return page.evaluate(f"caches.open('{CACHE}').then(c => c.keys()).then(ks => ks.map(r => new URL(r.url).pathname + new URL(r.url).search))")


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return predicate()


def wait_kept(page, paths, timeout=20.0):
    assert wait_until(lambda: set(paths) <= set(kept(page)), timeout), f"kept {kept(page)}, wanted {paths}"


def ask_leave_offline(page, base):
    page.goto(f"{base}/m/duty/leave/")
    assert page.is_visible("[data-offline-note]")
    page.select_option("#id_kind", "annual")
    page.fill("#id_start_date", "2026-11-16")
    page.fill("#id_end_date", "2026-11-18")
    page.fill("#id_reason", "探亲")
    page.click("form[data-offline-queue] button[type=submit]")
    page.wait_for_selector("[data-queue] [data-state]")


def test_pages_read_offline_and_a_leave_request_is_sent_once_when_online(live_server, context, doctor):
    base = live_server.url
    page = context.new_page()
    login(page, base, "weixiuying")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    slip = doctor.payslips.get()
    # Kept right after log-in: the calendar (this and next month), leave form, payslips (and the latest payslip), inbox.
    wait_kept(page, ["/m/duty/", "/m/duty/leave/", "/m/pay/", "/m/inbox/", f"/m/pay/{slip.pk}/"])

    follow(page, "a[data-menu=duty]")
    assert page.locator("td[data-leave=pending]").count() == 2
    follow(page, "header a")
    follow(page, "a[data-menu=inbox]")
    page.goto(f"{base}/m/inbox/?read=unread")  # a visited page is kept too
    wait_kept(page, ["/m/inbox/?read=unread"])

    context.set_offline(True)
    page.goto(f"{base}/m/duty/")
    note = page.locator("[data-offline-note]")
    assert note.is_visible() and "2026-10-08 09:3" in note.inner_text()
    assert "2026年10月" in page.inner_text("body") and "2026年11月" in page.inner_text("body")
    assert page.locator("td[data-leave=pending]").count() == 2
    shot(page, "offline-duty-calendar")
    page.reload()
    assert page.is_visible("[data-offline-note]")
    for path in ("/m/pay/", f"/m/pay/{slip.pk}/", "/m/inbox/", "/m/inbox/?read=unread"):
        page.goto(f"{base}{path}")
        assert page.is_visible("[data-offline-note]"), path
        assert "2026-10-08" in page.inner_text("[data-offline-note]"), path
    shot(page, "offline-payslip")
    page.goto(f"{base}/m/consult/")  # never opened: the offline page says so
    assert page.locator("body[data-offline-missing]").count() == 1
    shot(page, "offline-page-not-kept")

    ask_leave_offline(page, base)
    assert page.get_attribute("[data-queue] [data-state]", "data-state") == "unsent"
    assert page.is_visible("[data-queue]") and "2026-11-16" in page.inner_text("[data-queue]")
    shot(page, "offline-leave-not-yet-sent")
    page.goto(f"{base}/m/duty/")
    assert page.is_visible("[data-queue] [data-state=unsent]"), "the kept request shows on every page"
    shot(page, "offline-duty-calendar-with-unsent-leave")
    assert not LeaveRequest.objects.filter(start_date=datetime.date(2026, 11, 16)).exists()

    context.set_offline(False)  # the "online" event sends it
    sent = LeaveRequest.objects.filter(doctor=doctor, start_date=datetime.date(2026, 11, 16))
    assert wait_until(lambda: sent.count() == 1)
    page.wait_for_load_state()
    page.wait_for_function("!document.querySelector('[data-queue] [data-state]')")
    page.goto(f"{base}/m/duty/")
    page.goto(f"{base}/m/duty/leave/")
    time.sleep(1.5)
    assert sent.count() == 1 and sent.get().client_ref, "sent exactly once, with its phone id"
    assert page.evaluate("localStorage.getItem('cunyi-queue')") == "[]"
    page.goto(f"{base}/m/duty/")
    assert page.locator("td[data-date='2026-11-17'][data-leave=pending]").count() == 1
    shot(page, "online-duty-calendar-leave-sent")

    follow(page, "form[data-logout] button")
    assert page.url.endswith("/m/login/")
    assert wait_until(lambda: page.evaluate("caches.keys()") == [])  # (caches.open would make one)
    assert page.evaluate("localStorage.length") == 0


def test_a_request_kept_while_the_session_ended_is_sent_after_logging_in_again(live_server, context, doctor):
    base = live_server.url
    page = context.new_page()
    login(page, base, "weixiuying")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    wait_kept(page, ["/m/duty/leave/"])
    context.set_offline(True)
    ask_leave_offline(page, base)
    Session.objects.all().delete()  # the session ends while the phone is offline (its CSRF token with it)
    context.set_offline(False)
    page.wait_for_selector("[data-queue] [data-state=login]")
    assert not LeaveRequest.objects.filter(start_date=datetime.date(2026, 11, 16)).exists()
    shot(page, "leave-kept-until-login")

    login(page, base, "weixiuying")  # a new session and CSRF token; the home page sends the kept request
    sent = LeaveRequest.objects.filter(doctor=doctor, start_date=datetime.date(2026, 11, 16))
    assert wait_until(lambda: sent.count() == 1)
    page.goto(f"{base}/m/duty/")
    time.sleep(1.5)
    assert sent.count() == 1
    assert page.locator("[data-queue] [data-state]").count() == 0
