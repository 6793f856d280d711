import pytest

from clinics.models import Role
from tests.factories import FacilityFactory, make_user


@pytest.fixture
def clinic(db):
    return FacilityFactory()


@pytest.fixture
def other_clinic(db):
    return FacilityFactory()


@pytest.fixture
def clerk(roles):
    return make_user(Role.INSURANCE_CLERK, username="clerk")


@pytest.fixture
def terminal(roles, clinic):
    return make_user(Role.API_CLIENT, facility=clinic, username="terminal")
