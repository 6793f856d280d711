import pytest

from staffing.rosters.holidays import holiday_year_load


@pytest.fixture
def calendar_2026(db):
    holiday_year_load(year=2026)


@pytest.fixture
def calendar_2025_2026(db):
    holiday_year_load(year=2025)
    holiday_year_load(year=2026)
