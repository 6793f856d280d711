"""Each role's dashboard shows only the panels it may act on, titled with its reach, and every link
on it opens: the panels are decided by the same ModelAdmin permission the linked page checks."""

import re

import pytest
from django.urls import reverse

from clinics.models import Role
from tests.dashboard.test_dashboard import populate, world  # noqa: F401  (the same small county)
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PANELS = ["panel-staffing", "panel-duty", "panel-teleconsult", "panel-payroll", "panel-settlements", "panel-notifications"]


def dashboard_links(html: str) -> list[str]:
    body = html.split('id="dashboard"', 1)[1].split('id="content-related"', 1)[0]
    body = body.split('class="app-', 1)[0]  # the app list below the dashboard is Django's own
    return sorted({href.replace("&amp;", "&") for href in re.findall(r'<a [^>]*href="([^"]+)"', body)})


def panels_in(html: str) -> list[str]:
    return [p for p in PANELS if f'id="{p}"' in html]


@pytest.fixture
def county(world):  # noqa: F811
    populate(world["township"], 2, consultant=world["consultant"], run=world["run"])
    populate(world["other"], 1, consultant=world["consultant"], run=world["run"], offset=100)
    return world


def user_for(role, county):
    if role == Role.TOWNSHIP_ADMIN:
        return make_user(role, township=county["township"])
    return make_user(role)


@pytest.mark.parametrize(
    ("role", "title", "panels"),
    [
        (Role.COUNTY_ADMIN, "全县今日概况", PANELS),
        (Role.TOWNSHIP_ADMIN, "同乐镇今日概况",
         ["panel-staffing", "panel-duty", "panel-teleconsult", "panel-payroll", "panel-settlements"]),
        (Role.PAYROLL_OFFICER, "全县今日概况", ["panel-staffing", "panel-duty", "panel-payroll"]),
        # The clinic register's coverage page is open to whoever may view clinics (ClinicCoverageAdmin).
        (Role.INSURANCE_CLERK, "全县今日概况", ["panel-staffing", "panel-settlements"]),
    ],
)
def test_each_role_sees_its_panels_under_its_reach_and_every_link_opens(client, county, role, title, panels):
    client.force_login(user_for(role, county))

    response = client.get(reverse("admin:index"))
    html = response.content.decode()

    assert response.status_code == 200
    assert f"<h1>{title}</h1>" in html
    assert panels_in(html) == panels
    links = dashboard_links(html)
    assert links, "a dashboard without a single link"
    answers = {link: client.get(link) for link in links}
    # The health warning links to the monitors' endpoint, which answers 503 while a check fails
    # (by contract) and names the failing checks; every other link is a page that opens.
    health = answers.pop(reverse("health"), None)
    if health is not None:
        assert health.status_code == 503 and health.json()["failed"]
    assert {link: r.status_code for link, r in answers.items()} == {link: 200 for link in answers}


def test_the_insurance_clerk_gets_no_payroll_roster_or_consult_panel_nor_their_charts(client, county):
    client.force_login(make_user(Role.INSURANCE_CLERK))

    response = client.get(reverse("admin:index"))
    html = response.content.decode()

    assert [chart.key for chart in response.context["dashboard"]["charts"]] == ["chart-settlements"]
    for hidden in ["/admin/payroll/", "/admin/rosters/", "/admin/telemedicine/", "/admin/staffing/doctor/"]:
        assert hidden not in html
    # The staffing panel keeps only the link the clerk may follow.
    assert "/admin/staffing/cliniccoverage/?understaffed=yes" in html


def test_a_link_is_left_out_when_its_page_would_refuse(client, county):
    """The rule lives in the ModelAdmin: withdraw the township admin's leave permission from their
    group and the leave link goes, while the rest of the duty panel stays."""
    from django.contrib.auth.models import Permission

    admin = make_user(Role.TOWNSHIP_ADMIN, township=county["township"])
    group = admin.groups.get()
    group.permissions.remove(*Permission.objects.filter(content_type__model="leaverequest"))
    client.force_login(admin)

    html = client.get(reverse("admin:index")).content.decode()

    assert 'id="panel-duty"' in html
    assert "/admin/rosters/leaverequest/" not in html
    assert "/admin/rosters/swaprequest/?status__exact=pending" in html
