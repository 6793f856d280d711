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
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # On SQLite the live server shares the test's in-memory connection with every request
        # thread; a page that fires requests together (slots fetched on load, the service worker
        # saving pages) then met "cannot start a transaction within a transaction". Requests
        # still get their threads (keep-alive connections do not block each other) but use the
        # shared connection one at a time.
        import threading

        from django.test.testcases import LiveServerThread, ThreadedWSGIServer

        class OneRequestAtATime(ThreadedWSGIServer):
            lock = threading.Lock()

            def set_app(self, application):
                def one_at_a_time(environ, start_response):
                    with self.lock:  # the answer is read whole while the connection is held
                        response = application(environ, start_response)
                        try:
                            return [b"".join(response)]
                        finally:
                            getattr(response, "close", lambda: None)()

                super().set_app(one_at_a_time)

        LiveServerThread.server_class = OneRequestAtATime


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` run only when DATABASE_URL points at PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: runs in CI's second pass with DATABASE_URL=postgres://…")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


# Playwright's sync API runs an event loop in this thread; the ORM calls in fixtures are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run (a second sync Playwright in the thread fails)."""
    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser):
    from tests.browser import PHONE

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the project's language. A test-client request with another language
    leaves that language active in the thread (LocaleMiddleware does not reset it)."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Throttle counters live in Django's cache keyed by user pk or address; SQLite reuses pks from
    test to test, so a count left by one test must not answer another's request with a 429."""
    from django.core.cache import cache

    cache.clear()
    yield


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
