"""Render the admin dashboard on province-scale synthetic data and report time and queries.

Usage (a PostgreSQL database that has `manage.py load_seeds` and `manage.py seed_synthetic --clinics 14000`):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cunyi_found .venv/bin/python bench/dashboard.py
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")  # production's setting: benches never run with DEBUG on

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from clinics.models import Facility  # noqa: E402
from staffing.models import Doctor  # noqa: E402


def main(rounds: int = 5) -> None:
    user = get_user_model().objects.get(username="county_admin")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    client.get("/admin/")  # warm caches and connections
    timings = []
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get("/admin/")
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    print(f"database: {connection.vendor}; clinics: {Facility.objects.count()}; doctors: {Doctor.objects.count()}")
    print(f"dashboard render: median {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms over {rounds} rounds")
    print(f"queries per render: {len(queries.captured_queries)}")


if __name__ == "__main__":
    main()
