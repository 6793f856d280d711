import os
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from clinics.models import Role
from clinics.roles import seed_roles
from tests.factories import make_user


def pytest_configure(config):
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` run only when DATABASE_URL points at PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: runs in CI's second pass with DATABASE_URL=postgres://…")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the project's language. A test-client request with another language
    leaves that language active in the thread (LocaleMiddleware does not reset it)."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def roles(db):
    seed_roles({})


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def county_admin(db, roles):
    return make_user(Role.COUNTY_ADMIN, username="county")


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client
