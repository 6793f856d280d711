import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(roles):
    """Two townships with every kind of row and a user for every role (tests/security/world.py)."""
    from staffing.rosters.services.holidays import holiday_year_load
    from tests.security.world import build_world

    holiday_year_load(year=2026)  # the world's rosters and consults are in 2026
    return build_world()


@pytest.fixture
def openapi(client, county_admin):
    """The OpenAPI schema as the API serves it."""
    client.force_login(county_admin)
    return client.get("/api/schema/", {"format": "json"}).json()
