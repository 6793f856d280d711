"""The bureau accounts page (用户角色与范围) by role: a county admin lists every account and has
every button; a township admin has the menu link and lists only the accounts of their township they
may manage, with 新建账号 but not the county's tools; an out-of-township account is neither listed
nor opened, and its buttons are not offered; the payroll officer is offered no account action."""

import pytest
from django.urls import reverse

from clinics.models import Role, UserScope
from tests.factories import FacilityFactory, TownshipFactory, make_user

pytestmark = pytest.mark.django_db

LIST = reverse("admin:clinics_userscope_changelist")


@pytest.fixture
def world(roles):
    own, other = TownshipFactory(name="同乐镇"), TownshipFactory(name="甘田镇")
    county = make_user(Role.COUNTY_ADMIN, username="county")
    admin = make_user(Role.TOWNSHIP_ADMIN, township=own, username="tongle")
    deputy = make_user(Role.TOWNSHIP_ADMIN, township=own, username="tongle-deputy")
    doctor = make_user(Role.VILLAGE_DOCTOR, facility=FacilityFactory(township=own), username="13800000001")
    outsider = make_user(Role.TOWNSHIP_ADMIN, township=other, username="gantian")
    far_doctor = make_user(Role.VILLAGE_DOCTOR, facility=FacilityFactory(township=other), username="13800000002")
    clerk = make_user(Role.INSURANCE_CLERK, username="clerk")
    payroll = make_user(Role.PAYROLL_OFFICER, username="payroll")
    return locals()


def listed(client) -> set[str]:
    response = client.get(LIST)
    assert response.status_code == 200
    return {scope.user.username for scope in response.context["cl"].result_list}


def test_county_admin_lists_every_account_with_every_tool(client, world):
    client.force_login(world["county"])
    assert listed(client) >= {"tongle", "tongle-deputy", "13800000001", "gantian", "13800000002", "clerk", "payroll"}
    page = client.get(LIST).content.decode()
    for tool in ('id="account-create"', 'id="account-lockouts"', 'id="account-api-tokens"'):
        assert tool in page
    deputy = UserScope.objects.get(user=world["deputy"])
    change = client.get(reverse("admin:clinics_userscope_change", args=[deputy.pk])).content.decode()
    assert 'id="account-reset"' in change
    own = UserScope.objects.get(user=world["county"])
    change = client.get(reverse("admin:clinics_userscope_change", args=[own.pk])).content.decode()
    assert 'id="account-reset"' not in change  # one's own account is changed by another admin


def test_township_admin_has_the_menu_link_and_only_their_township(client, world):
    client.force_login(world["admin"])
    menu = client.get(reverse("admin:clinics_facility_changelist")).content.decode()
    assert f'href="{LIST}"' in menu
    assert listed(client) == {"tongle", "tongle-deputy", "13800000001"}
    page = client.get(LIST).content.decode()
    assert 'id="account-create"' in page
    assert 'id="account-lockouts"' not in page and 'id="account-api-tokens"' not in page
    assert reverse("admin:clinics_userscope_add") not in page  # the raw role form stays county-wide
    deputy = UserScope.objects.get(user=world["deputy"])
    change = client.get(reverse("admin:clinics_userscope_change", args=[deputy.pk])).content.decode()
    assert 'id="account-reset"' in change and 'id="account-deactivate"' in change
    mine = UserScope.objects.get(user=world["admin"])
    assert 'id="account-reset"' not in client.get(reverse("admin:clinics_userscope_change", args=[mine.pk])).content.decode()


def test_township_admin_cannot_open_or_act_on_another_townships_account(client, world):
    client.force_login(world["admin"])
    outsider = UserScope.objects.get(user=world["outsider"])
    response = client.get(reverse("admin:clinics_userscope_change", args=[outsider.pk]))
    assert response.status_code == 302  # "does not exist": it is not in their list
    client.post(reverse("admin:clinics_account_action", args=[world["outsider"].pk]), {"action": "deactivate"})
    world["outsider"].refresh_from_db()
    assert world["outsider"].is_active


def test_township_admin_creates_an_account_that_then_appears_in_their_list(client, world):
    client.force_login(world["admin"])
    own = world["admin"].scope.township
    response = client.post(
        reverse("admin:clinics_account_create"), {"username": "tongle-3", "role": Role.TOWNSHIP_ADMIN, "township": own.pk}
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert "tongle-3" in listed(client)


@pytest.mark.parametrize("who", ["payroll", "clerk"])
def test_no_account_action_is_offered_to_those_who_cannot_manage_accounts(client, world, who):
    client.force_login(world[who])
    page = client.get(LIST).content.decode()
    assert 'id="account-create"' not in page and 'id="account-lockouts"' not in page
    assert 'id="account-api-tokens"' in page  # county-wide roles issue the terminals' tokens
    assert client.get(reverse("admin:clinics_account_create")).status_code == 403
    deputy = UserScope.objects.get(user=world["deputy"])
    assert 'id="account-reset"' not in client.get(reverse("admin:clinics_userscope_change", args=[deputy.pk])).content.decode()
