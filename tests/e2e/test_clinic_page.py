"""The clinic's admin page lists its doctors and coverage; the doctor page creates a phone login."""

import pytest

from clinics.models import Role
from tests.browser import login, shot
from tests.factories import clinic_with_doctors, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_clinic_page_shows_doctors_and_coverage(live_server, browser):
    from clinics.roles import seed_roles

    seed_roles({})
    make_user(Role.COUNTY_ADMIN, username="bureau")
    clinic, doctors = clinic_with_doctors(1, target_doctors=2, name="平寨村卫生室")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, live_server.url, "bureau")
    page.goto(f"{live_server.url}/admin/clinics/facility/{clinic.pk}/change/")
    page.wait_for_selector("#clinic-doctors")
    text = page.inner_text("#clinic-doctors")
    assert doctors[0].name in text and "在岗医生 1 名，目标 2 名" in text and "人手不足" in text
    assert page.locator("a.deletelink").count() == 0
    shot(page, "clinic_page_doctors")
    context.close()
