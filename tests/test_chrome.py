"""The admin's and portal's chrome: a Chinese refusal page, technical sections only for
superusers, and an icon at /favicon.ico."""

import pytest
from django.contrib import admin
from django.urls import reverse

from clinics.models import Role
from tests.factories import FacilityFactory, UserFactory, make_user

pytestmark = pytest.mark.django_db


def test_an_admin_page_refused_is_chinese_names_the_roles_and_links_home(client, roles):
    client.force_login(make_user(Role.INSURANCE_CLERK))

    response = client.get(reverse("admin:payroll_payrun_changelist"))
    html = response.content.decode()

    assert response.status_code == 403
    assert "403 Forbidden" not in html and "Forbidden" not in html
    assert "您无权打开此页面" in html
    assert "县卫健局管理员" in html and "工资专员" in html and "（您的角色：医保专员）" in html
    assert 'id="home-link" href="/admin/"' in html


def test_a_portal_refusal_keeps_the_views_reason_and_links_to_the_phone_home(client, roles):
    client.force_login(make_user(Role.CONSULTANT, facility=FacilityFactory()))

    response = client.get(reverse("rosters:my-duty"))
    html = response.content.decode()

    assert response.status_code == 403
    from django.utils.translation import gettext

    assert gettext("This page is for village doctors.") in html and "This page is for" not in html
    assert "您无权打开此页面" in html
    assert f'href="{reverse("portal:home")}"' in html


def test_the_api_still_refuses_in_its_json_shape(client, roles):
    from core.api import permission_denied

    request = client.get("/api/v1/").wsgi_request  # any request under /api/
    request.path = "/api/v1/payroll/runs/"
    response = permission_denied(request)
    assert response.status_code == 403 and response["Content-Type"].startswith("application/json")

    from config.views import permission_denied as page

    assert page(request)["Content-Type"].startswith("application/json")


TECHNICAL = ["django_celery_beat_periodictask", "django_celery_beat_crontabschedule", "django_celery_beat_intervalschedule",
             "django_celery_beat_clockedschedule", "django_celery_beat_solarschedule"]


def test_technical_sections_are_hidden_and_refused_for_the_county_admin(client, roles):
    client.force_login(make_user(Role.COUNTY_ADMIN))  # the group holds every django_celery_beat permission

    index = client.get(reverse("admin:index")).content.decode()

    assert "django_celery_beat" not in index and "周期任务" not in index
    for name in TECHNICAL:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 403
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403
    assert client.get(reverse("admin:app_list", args=["django_celery_beat"])).status_code == 404


def test_a_superuser_still_runs_the_technical_sections(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    index = client.get(reverse("admin:index")).content.decode()

    assert "/admin/django_celery_beat/periodictask/" in index
    for name in TECHNICAL:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200


def test_every_technical_model_admin_is_superuser_only():
    from config.admin_site import TECHNICAL_APP_LABELS, SuperuserOnlyAdminMixin

    technical = [ma for model, ma in admin.site._registry.items() if model._meta.app_label in TECHNICAL_APP_LABELS]
    assert technical and all(isinstance(ma, SuperuserOnlyAdminMixin) for ma in technical)


def test_favicon_is_served_and_admin_pages_link_the_icon(client, roles):
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == static("portal/icon.svg")
    assert finders.find("portal/icon.svg")

    client.force_login(make_user(Role.COUNTY_ADMIN))
    html = client.get(reverse("admin:index")).content.decode()
    assert 'rel="icon" href="/static/portal/icon.svg"' in html


def test_amounts_group_by_three_with_commas_and_dates_read_in_chinese():
    import datetime
    from decimal import Decimal

    from django.template import Context, Template
    from django.utils import translation

    with translation.override("zh-hans"):
        text = Template('{{ x|floatformat:"2g" }} {{ d|date:"DATE_FORMAT" }} {{ n }}').render(
            Context({"x": Decimal("1234567.5"), "d": datetime.date(2026, 12, 3), "n": 12345})
        )
    # ids and counts outside a grouping filter stay bare (links and form values carry them)
    assert text == "1,234,567.50 2026年12月3日 12345"
