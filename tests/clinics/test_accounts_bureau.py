"""Bureau accounts: created with role and reach and a one-time password, role changed, password
reset, deactivated; a township admin gives nothing above their role nor outside their township."""

import pytest
from django.core.exceptions import ValidationError

from clinics.accounts import account_change_role, account_create, account_reset_password, account_set_active
from clinics.models import Role, UserScope
from core.models import AuditEntry
from tests.factories import FacilityFactory, TownshipFactory, make_user

pytestmark = pytest.mark.django_db


def test_county_admin_creates_a_township_admin_with_a_one_time_password(county_admin):
    township = TownshipFactory()
    user, password = account_create(
        acting_user=county_admin, username="tongle2", name="韦主任", role=Role.TOWNSHIP_ADMIN, township=township
    )
    scope = UserScope.objects.get(user=user)
    assert (scope.role, scope.township, scope.must_change_password) == (Role.TOWNSHIP_ADMIN, township, True)
    assert user.check_password(password) and password not in user.password and user.is_staff
    assert password not in str(list(AuditEntry.objects.values_list("changes", flat=True)))
    with pytest.raises(ValidationError):
        account_create(acting_user=county_admin, username="TONGLE2", name="", role=Role.PAYROLL_OFFICER)


def test_change_role_reset_and_deactivate(county_admin):
    user, first = account_create(acting_user=county_admin, username="clerk1", name="", role=Role.INSURANCE_CLERK)
    account_change_role(acting_user=county_admin, user=user, role=Role.PAYROLL_OFFICER)
    assert UserScope.objects.get(user=user).role == Role.PAYROLL_OFFICER
    UserScope.objects.filter(user=user).update(must_change_password=False)
    second = account_reset_password(acting_user=county_admin, user=user)
    user.refresh_from_db()
    assert user.check_password(second) and not user.check_password(first)
    assert UserScope.objects.get(user=user).must_change_password
    account_set_active(acting_user=county_admin, user=user, active=False)
    user.refresh_from_db()
    assert not user.is_active
    account_set_active(acting_user=county_admin, user=user, active=True)
    user.refresh_from_db()
    assert user.is_active
    actions = set(AuditEntry.objects.filter(action__startswith="account.").values_list("action", flat=True))
    assert actions == {"account.create", "account.password_reset", "account.deactivate", "account.activate"}


def test_township_admin_limits(roles):
    own, other = TownshipFactory(), TownshipFactory()
    admin = make_user(Role.TOWNSHIP_ADMIN, township=own)
    # in reach and not above their role: allowed
    user, _ = account_create(acting_user=admin, username="deputy", name="", role=Role.TOWNSHIP_ADMIN, township=own)
    account_create(
        acting_user=admin, username="doc9", name="", role=Role.VILLAGE_DOCTOR, facility=FacilityFactory(township=own)
    )
    for role, kwargs in [
        (Role.COUNTY_ADMIN, {}),
        (Role.PAYROLL_OFFICER, {}),
        (Role.TOWNSHIP_ADMIN, {"township": other}),
        (Role.VILLAGE_DOCTOR, {"facility": FacilityFactory(township=other)}),
    ]:
        with pytest.raises(ValidationError):
            account_create(acting_user=admin, username=f"x-{role}-{len(kwargs)}", name="", role=role, **kwargs)
    with pytest.raises(ValidationError):
        account_change_role(acting_user=admin, user=user, role=Role.COUNTY_ADMIN)
    county = make_user(Role.COUNTY_ADMIN)
    with pytest.raises(ValidationError):
        account_reset_password(acting_user=admin, user=county)
    with pytest.raises(ValidationError):
        account_set_active(acting_user=admin, user=county, active=False)
    county.refresh_from_db()
    assert county.is_active
    assert not get_user_exists("x-county_admin-0")


def get_user_exists(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=username).exists()


def test_accounts_page_creates_resets_and_deactivates(client, county_admin):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    client.force_login(county_admin)
    listing = client.get(reverse("admin:clinics_userscope_changelist")).content.decode()
    assert "新建账号（一次性密码）" in listing
    township = TownshipFactory(name="同乐镇")
    created = client.post(
        reverse("admin:clinics_account_create"),
        {"username": "tongle9", "name": "韦主任", "role": Role.TOWNSHIP_ADMIN, "township": township.pk},
    )
    text = created.content.decode()
    assert created.status_code == 200 and "此密码只显示这一次" in text and "no-store" in created["Cache-Control"]
    password = text.split('id="account-password">')[1].split("<")[0]
    user = get_user_model().objects.get(username="tongle9")
    assert user.check_password(password) and user.scope.township == township
    refused = client.post(
        reverse("admin:clinics_account_create"), {"username": "tongle10", "name": "", "role": Role.TOWNSHIP_ADMIN}
    )
    assert refused.status_code == 200 and not get_user_exists("tongle10")  # a township admin needs a township

    change = client.get(reverse("admin:clinics_userscope_change", args=[user.scope.pk])).content.decode()
    assert 'id="account-reset"' in change and 'id="account-deactivate"' in change
    action = reverse("admin:clinics_account_action", args=[user.pk])
    reset = client.post(action, {"action": "reset"}).content.decode()
    new = reset.split('id="account-password">')[1].split("<")[0]
    user.refresh_from_db()
    assert new != password and user.check_password(new)
    assert client.post(action, {"action": "deactivate"}).status_code == 302
    user.refresh_from_db()
    assert not user.is_active


def test_township_admin_is_offered_only_roles_not_above_theirs(client, roles):
    from django.urls import reverse

    own = TownshipFactory()
    admin = make_user(Role.TOWNSHIP_ADMIN, township=own)
    client.force_login(admin)
    page = client.get(reverse("admin:clinics_account_create")).content.decode()
    assert 'value="township_admin"' in page and 'value="county_admin"' not in page
    refused = client.post(
        reverse("admin:clinics_account_create"), {"username": "boss", "role": Role.COUNTY_ADMIN, "township": own.pk}
    )
    assert refused.status_code == 200 and not get_user_exists("boss")
    client.post(reverse("admin:clinics_account_create"), {"username": "deputy2", "role": Role.TOWNSHIP_ADMIN, "township": own.pk})
    assert get_user_exists("deputy2")
