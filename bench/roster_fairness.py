"""Evidence for the roster issue, on the scratch county database that `bench/roster_generate.py
--scale county` leaves in var/bench-rosters.sqlite3: plans the rest of 2026, prints one clinic's
October 2026 roster as `GET /api/v1/rosters/` returns it, and the doctors' on-call counts over 2026
(weekend and holiday apart) for that clinic and, as a check, the largest spread over all 88."""

import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-rosters.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "false")  # production's setting: benches never run with DEBUG on
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    import datetime

    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from clinics.models import Facility
    from staffing.rosters.models import DutyDay, RosterMonth
    from staffing.rosters.services.generation import roster_generate

    for month in range(1, 13):
        first = datetime.date(2026, month, 1)
        if not RosterMonth.objects.filter(month=first).exists():
            roster_generate(month=first)
    clinic = Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC).order_by("code").first()
    client = APIClient(SERVER_NAME="localhost")
    client.force_authenticate(get_user_model().objects.get(username="county_admin"))
    rows = client.get("/api/v1/rosters/", {"clinic": clinic.code, "month": "2026-10"}).json()
    print(f"GET /api/v1/rosters/?clinic={clinic.code}&month=2026-10  ({clinic.name}, {len(rows)} rows)")
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))

    counts = Counter(
        DutyDay.objects.filter(facility=clinic, date__year=2026, duty="on_call").values_list("doctor__name", "day_kind")
    )
    print(f"\n{clinic.name}: on-call days in 2026")
    for name in sorted({n for n, _k in counts}):
        print(f"  {name}: weekend {counts[(name, 'weekend')]}, public holiday {counts[(name, 'holiday')]}")

    spread = {"weekend": 0, "holiday": 0}
    per_clinic: dict = {}
    for facility_id, doctor_id, kind in DutyDay.objects.filter(date__year=2026, duty="on_call").values_list(
        "facility_id", "doctor_id", "day_kind"
    ):
        per_clinic.setdefault((facility_id, kind), Counter())[doctor_id] += 1
    for (_facility_id, kind), by_doctor in per_clinic.items():
        spread[kind] = max(spread[kind], max(by_doctor.values()) - min(by_doctor.values()))
    print(f"largest spread within any of the {Facility.objects.filter(kind='village_clinic').count()} clinics: {spread}")


if __name__ == "__main__":
    main()
