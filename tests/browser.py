"""Browser-test helpers: Debian's Chromium driven by Playwright for Python (no browser download).
The `browser` and `phone` fixtures live in tests/conftest.py, defined once for the whole suite:
Playwright's sync API allows one running instance per thread. Screenshots go to var/screenshots/."""

import shutil
from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def follow(page, selector: str) -> None:
    """Click a link or a submit button and wait until the page it loads has loaded. A bare click
    returns once the navigation has begun, when the new document may still be empty: reading it
    then is a race the test can lose on a busy machine."""
    with page.expect_navigation():
        page.click(selector)


def login(page, live_server_url: str, username: str, password: str = "a-long-test-password-1") -> None:
    page.goto(f"{live_server_url}/m/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server_url}/m/")
