"""Leye County's register: real townships and villages from seeds/, demo facilities beside them.
The village clinics' platform institution codes (定点医药机构编号) are synthetic demo values
(`demo_platform_code`). Idempotent: running it again changes nothing."""

import csv
from pathlib import Path

from django.conf import settings
from django.db import transaction

from clinics.models import Department, Facility, Township

COUNTY_HOSPITAL_CODE = "CH451028"
COUNTY_HOSPITAL_DEPARTMENTS = [
    ("IM", "内科"),
    ("SUR", "外科"),
    ("OBG", "妇产科"),
    ("PED", "儿科"),
    ("TCM", "中医科"),
    ("EMG", "急诊科"),
    ("RAD", "医学影像科"),
]
CENTRE_DEPARTMENTS = [("GP", "全科医学科"), ("TCM", "中医科")]
BRANCH_CENTRES = [("451028100", "同乐镇卫生院二分院（演示）"), ("451028101", "甘田镇卫生院分院（演示）")]
TELEMEDICINE_CLINICS_PER_TOWNSHIP = 3


def divisions_path() -> Path:
    return Path(settings.CUNYI_SEEDS_DIR) / "leye_divisions.csv"


def read_divisions() -> list[dict]:
    with divisions_path().open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _upsert(model, lookup: dict, defaults: dict, counts: dict) -> object:
    obj, created = model.objects.get_or_create(**lookup, defaults=defaults)
    key = model._meta.model_name
    counts.setdefault(key, {"created": 0, "existing": 0})
    counts[key]["created" if created else "existing"] += 1
    return obj


@transaction.atomic
def seed_register(counts: dict) -> None:
    rows = read_divisions()
    townships = {}
    for row in rows:
        if row["township_code"] in townships:
            continue
        kind = Township.Kind.TOWN if row["township"].endswith("镇") else Township.Kind.TOWNSHIP
        townships[row["township_code"]] = _upsert(
            Township, {"code": row["township_code"]}, {"name": row["township"], "kind": kind}, counts
        )
    tongle = townships["451028100"]
    hospital = _upsert(
        Facility,
        {"code": COUNTY_HOSPITAL_CODE},
        {"kind": Facility.Kind.COUNTY_HOSPITAL, "name": "乐业县人民医院", "township": tongle, "telemedicine_enabled": True},
        counts,
    )
    for code, name in COUNTY_HOSPITAL_DEPARTMENTS:
        _upsert(Department, {"facility": hospital, "code": code}, {"name": name}, counts)
    centres = [(t.code, f"{t.name}卫生院", False) for t in townships.values()]
    centres += [(code, name, True) for code, name in BRANCH_CENTRES]
    for township_code, name, is_demo in centres:
        # Codes fit the 12-character column: THC + township code, THB + township code for a branch.
        centre = _upsert(
            Facility,
            {"code": f"{'THB' if is_demo else 'THC'}{township_code}"},
            {
                "kind": Facility.Kind.TOWNSHIP_CENTRE,
                "name": name,
                "township": townships[township_code],
                "telemedicine_enabled": True,
                "is_demo": is_demo,
            },
            counts,
        )
        for code, dept_name in CENTRE_DEPARTMENTS:
            _upsert(Department, {"facility": centre, "code": code}, {"name": dept_name}, counts)
    per_township: dict[str, int] = {}
    for number, row in enumerate(sorted(rows, key=lambda r: r["village_code"]), start=1):
        row["demo_platform_code"] = demo_platform_code(row["village_code"], number)
    for row in rows:
        position = per_township.get(row["township_code"], 0)
        per_township[row["township_code"]] = position + 1
        suffix = "卫生室" if row["kind"] == "village" else "卫生服务站"
        clinic = _upsert(
            Facility,
            {"code": row["village_code"]},
            {
                "kind": Facility.Kind.VILLAGE_CLINIC,
                "name": f"{row['township']}{row['village']}{suffix}",
                "township": townships[row["township_code"]],
                "village": row["village"],
                "village_kind": row["kind"],
                "telemedicine_enabled": position < TELEMEDICINE_CLINICS_PER_TOWNSHIP,
            },
            counts,
        )
        _give_platform_code(clinic, row["demo_platform_code"])


def demo_platform_code(village_code: str, number: int) -> str:
    """A village clinic's SYNTHETIC platform institution code (定点医药机构编号): H, the county's
    6-digit division code, and the clinic's 5-digit number in code order (H45102800001 …
    H45102800088). The bureau assigns the real ones; these are demo values only."""
    return f"H{village_code[:6]}{number:05d}"


def _give_platform_code(clinic: Facility, code: str) -> None:
    """Only a clinic without one gets its demo code, and only while no other clinic has it: a code
    an admin entered is never overwritten, and a second run changes nothing."""
    if clinic.platform_code or Facility.objects.filter(platform_code=code).exists():
        return
    clinic.platform_code = code
    clinic.save(update_fields=["platform_code"])


# --- The demo's day ----------------------------------------------------------------------------
# `load_seeds` builds the demo as of one day (today in Asia/Shanghai, or `--today`) and passes it
# to every step in `counts`, beside the notes a step leaves for the command to print.
TODAY_KEY = "_today"
NOTES_KEY = "_notes"


def seed_today(counts: dict):
    """The day the demo is built for: the command's `--today`, else today (local time)."""
    from django.utils import timezone

    return counts.get(TODAY_KEY) or timezone.localdate()


def seed_note(counts: dict, message: str) -> None:
    """A line for the command to print after the counts (already translated), once each."""
    notes = counts.setdefault(NOTES_KEY, [])
    if message not in notes:
        notes.append(message)
