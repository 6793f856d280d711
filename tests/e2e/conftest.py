"""Browser tests: the fixtures are in tests/conftest.py; the helpers in tests/browser.py."""

from tests.browser import CHROMIUM, PHONE, SCREENSHOTS, follow, login, shot  # noqa: F401 - used by the e2e tests
