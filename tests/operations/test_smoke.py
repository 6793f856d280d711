"""The production smoke test (deploy/smoke_test.py): the compose file's command lines on this
machine — migrate job, gunicorn with production settings behind Caddy (`tls internal`), worker and
beat — then a sign-in over verified HTTPS, a teleconsult booked through the API, its notification
delivered by the worker, and /health/ all green. PostgreSQL pass only (it needs its own database)."""

import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_the_compose_command_lines_serve_book_and_deliver_over_https():
    if shutil.which("caddy") is None:
        pytest.skip("Debian's caddy is not installed (.ci/run installs it)")
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    smoke_url = urllib.parse.urlunsplit(url._replace(path="/cunyi_smoke"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "smoke_test.py"), "--database-url", smoke_url],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    print(done.stdout[-6000:])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "booked teleconsult" in done.stdout and "outbox rows of the booking sent by the worker" in done.stdout
    assert "/health/ 200" in done.stdout and "PASSED" in done.stdout
