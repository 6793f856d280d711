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
