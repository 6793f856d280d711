"""A swap in Chromium, each step by the one who takes it: the doctor asks on the phone, the
colleague agrees on their phone, the township admin approves on the request's page with a comment;
the roster follows and the requester sees the comment."""

from pathlib import Path

import pytest

from clinics.models import Role
from core.months import month_start
from staffing.rosters.models import DecisionStatus, DutyDay, SwapRequest
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.holidays import holiday_year_load
from staffing.rosters.services.publishing import roster_publish
from staffing.selectors import today
from tests.e2e.conftest import follow, login, shot
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/shots/leave")


def keep(page, name):
    path = shot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / path.name).write_bytes(path.read_bytes())


def phone_page(browser):
    return browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                               has_touch=True, locale="zh-CN").new_page()


@pytest.fixture
def clinic(roles):
    now = today()
    holiday_year_load(year=now.year)
    township = TownshipFactory(name="同乐镇")
    clinic, (a, b) = clinic_with_doctors(2, township=township, name="平寨村卫生室")
    make_user(Role.VILLAGE_DOCTOR, doctor=a, username="doc_a")
    make_user(Role.VILLAGE_DOCTOR, doctor=b, username="doc_b")
    make_user(Role.TOWNSHIP_ADMIN, township=township, username="tongle_admin")
    roster_generate(month=month_start(now))
    roster_publish(month=month_start(now), township=township, acting_user=None)
    give = DutyDay.objects.filter(doctor=a, duty="on_call", date__gt=now).order_by("date").first()
    if give is None:
        pytest.skip("no on-call day left this month to swap")
    return {"a": a, "b": b, "give": give}


def test_doctor_asks_colleague_consents_township_approves(live_server, browser, clinic):
    a, b, give = clinic["a"], clinic["b"], clinic["give"]
    asker = phone_page(browser)
    login(asker, live_server.url, "doc_a")
    asker.goto(f"{live_server.url}/m/duty/swap/")
    assert asker.locator("#id_counterpart option").all_inner_texts() == [b.name]
    asker.select_option("#id_give_date", give.date.isoformat())
    asker.select_option("#id_counterpart", str(b.pk))
    asker.fill("#id_reason", "家里有事，想和你换一天")
    keep(asker, "swap-ask-phone")
    follow(asker, "form.card button[type=submit]")
    assert SwapRequest.objects.exists(), asker.inner_text("body")
    swap = SwapRequest.objects.get()
    assert swap.status == DecisionStatus.AWAITING and swap.requester == a
    assert "待同事确认" in asker.inner_text(f'[data-swap-request="{swap.pk}"]')

    colleague = phone_page(browser)
    login(colleague, live_server.url, "doc_b")
    colleague.goto(f"{live_server.url}/m/duty/")
    card = colleague.locator(f'[data-swap="{swap.pk}"]')
    assert a.name in card.inner_text()
    card.scroll_into_view_if_needed()
    keep(colleague, "swap-colleague-asked")
    follow(colleague, f'[data-swap="{swap.pk}"] button[value=agree]')
    swap.refresh_from_db()
    assert swap.status == DecisionStatus.PENDING and swap.colleague_answered_at is not None
    assert colleague.locator("[data-swaps-asked]").count() == 0

    admin = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN").new_page()
    admin.goto(f"{live_server.url}/admin/login/")
    admin.fill("#id_username", "tongle_admin")
    admin.fill("#id_password", "a-long-test-password-1")
    follow(admin, "input[type=submit]")
    admin.goto(f"{live_server.url}/admin/rosters/swaprequest/{swap.pk}/change/")
    assert admin.locator("select").count() == 0  # no editable requester or account dropdown
    admin.fill("#id_decision_note", "同意，注意交接")
    keep(admin, "swap-admin-decide")
    follow(admin, "input[name=_approve]")
    swap.refresh_from_db()
    assert swap.status == DecisionStatus.APPROVED and swap.decision_note == "同意，注意交接"
    assert DutyDay.objects.get(date=give.date, duty="on_call", facility=give.facility).doctor == b

    asker.goto(f"{live_server.url}/m/duty/")
    row = asker.locator(f'[data-swap-request="{swap.pk}"]')
    assert "同意，注意交接" in row.inner_text() and "已批准" in row.inner_text()
    row.scroll_into_view_if_needed()
    keep(asker, "swap-requester-sees-comment")
    for page in (asker, colleague, admin):
        page.context.close()
