import pytest

from staffing.rosters.services.holidays import holiday_year_load


@pytest.fixture
def calendar_2026(db):
    holiday_year_load(year=2026)


@pytest.fixture
def calendar_2025_2026(db):
    holiday_year_load(year=2025)
    holiday_year_load(year=2026)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Test users are made with set_password; the production hasher costs ~0.3 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
