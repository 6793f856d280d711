"""Leye County's register: real townships and villages from seeds/, demo facilities beside them.
Idempotent: running it again changes nothing."""

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
    for row in rows:
        position = per_township.get(row["township_code"], 0)
        per_township[row["township_code"]] = position + 1
        suffix = "卫生室" if row["kind"] == "village" else "卫生服务站"
        _upsert(
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
