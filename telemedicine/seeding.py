"""Demo consultants with weekly availability (synthetic names, marked demo). The `consultant` demo
login becomes the 内科 consultant. Idempotent: running it again changes nothing."""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from clinics.models import Department, Facility
from clinics.seeding import COUNTY_HOSPITAL_CODE
from telemedicine.models import Consultant, WeeklyAvailability
from telemedicine.services.slots import slots_materialise_horizon

# (department code at the county hospital, or "centre:<code>" for the first township centre),
# synthetic name, title, demo login to link
DEMO_CONSULTANTS = [
    ("IM", "黄明", "副主任医师", "consultant"),
    ("IM", "罗秀兰", "主治医师", None),
    ("PED", "韦建国", "主治医师", None),
    ("OBG", "陆春梅", "副主任医师", None),
    ("TCM", "岑德福", "主任医师", None),
    ("centre:GP", "李永强", "主治医师", None),
]
# weekday, start, end, slot minutes, places
WEEKLY_PATTERN = [
    *[(day, datetime.time(9, 0), datetime.time(11, 0), 20, 1) for day in range(5)],
    *[(day, datetime.time(15, 0), datetime.time(17, 0), 30, 2) for day in (1, 3)],
]
SEED_VALID_FROM = datetime.date(2026, 1, 1)


def _department(code: str) -> Department | None:
    if code.startswith("centre:"):
        centre = Facility.objects.filter(kind=Facility.Kind.TOWNSHIP_CENTRE, telemedicine_enabled=True).order_by("code").first()
        return Department.objects.filter(facility=centre, code=code.split(":", 1)[1]).first() if centre else None
    return Department.objects.filter(facility__code=COUNTY_HOSPITAL_CODE, code=code).first()


def _count(counts: dict, key: str, created: bool) -> None:
    counts.setdefault(key, {"created": 0, "existing": 0})
    counts[key]["created" if created else "existing"] += 1


@transaction.atomic
def seed_consultants(counts: dict) -> None:
    User = get_user_model()
    if not User.objects.filter(username="consultant").exists():
        # load_seeds creates the demo logins after the app steps; create them now (idempotent,
        # with a throwaway tally so load_seeds' own count stays right) to link the consultant.
        from staffing.seeding import seed_demo_logins

        seed_demo_logins({})
    for code, name, title, username in DEMO_CONSULTANTS:
        department = _department(code)
        if department is None:
            continue
        consultant, created = Consultant.objects.get_or_create(
            department=department, name=name, defaults={"title": title, "is_demo": True}
        )
        _count(counts, "consultant", created)
        if username and consultant.user_id is None:
            user = User.objects.filter(username=username).first()
            if user is not None and not Consultant.objects.filter(user=user).exists():
                consultant.user = user
                consultant.save(update_fields=["user"])
        for weekday, start, end, minutes, places in WEEKLY_PATTERN:
            _availability, created = WeeklyAvailability.objects.get_or_create(
                consultant=consultant,
                weekday=weekday,
                start_time=start,
                defaults={"end_time": end, "slot_minutes": minutes, "places": places, "valid_from": SEED_VALID_FROM},
            )
            _count(counts, "weekly availability", created)
    report = slots_materialise_horizon()
    counts.setdefault("teleconsult slot", {"created": 0, "existing": 0})
    counts["teleconsult slot"]["created"] += report.created
