"""Demo settlements for Leye's village clinics (synthetic, marked demo): October last year and
the three months before the demo reference month, so the summaries, the payroll consultation fee,
reconciliation and the anomaly check have something to show. Idempotent: setl_ids are
deterministic and a second run only counts duplicates."""

import datetime
import random

from django.apps import apps
from django.db import transaction

from clinics.models import Facility
from clinics.settlements.models import SettlementKey
from clinics.settlements.services import anomalies_detect, settlements_import

DEMO_MONTHS = [datetime.date(2025, 10, 1), datetime.date(2026, 8, 1), datetime.date(2026, 9, 1), datetime.date(2026, 10, 1)]
BASE_VISITS = 20  # a month, per clinic: a small, fast sample of Leye's ~280
PREFIX = "DEMO"


def _practitioner_codes() -> dict[int, list[str]]:
    """Insurance practitioner codes of the doctors posted at each clinic, read through the app
    registry so that the settlement log does not import the staffing app (demo data only; with
    no staffing app installed the demo settlements name no practitioner)."""
    if not apps.is_installed("staffing"):
        return {}
    posting = apps.get_model("staffing", "Posting")
    codes: dict[int, list[str]] = {}
    for facility_id, code in (
        posting.objects.filter(end_date__isnull=True, doctor__insurance_code__isnull=False)
        .order_by("facility_id", "doctor__insurance_code")
        .values_list("facility_id", "doctor__insurance_code")
    ):
        codes.setdefault(facility_id, []).append(code)
    return codes


def demo_rows(clinics: list[Facility], codes: dict[int, list[str]]):
    number = 1
    for index, clinic in enumerate(clinics):
        rng = random.Random(f"settlements-{clinic.code}")
        doctors = codes.get(clinic.pk, [])
        for month in DEMO_MONTHS:
            visits = BASE_VISITS + rng.randrange(-3, 4)
            if month == DEMO_MONTHS[-1] and index % 29 == 5:
                visits = visits // 3  # a clinic whose activity collapsed: flagged as an anomaly
            if month == DEMO_MONTHS[-1] and index % 43 == 11:
                visits = 0  # a clinic with no settlement at all this month
            for n in range(visits):
                hifp = rng.randrange(1500, 6000)  # cents
                maf = rng.choice([0, 0, 0, 500, 1000])
                acct = rng.choice([0, 0, 200, 500])
                cash = rng.randrange(300, 1500)
                fund = hifp + maf
                setl_id = f"{PREFIX}{clinic.code[-6:]}{month:%y%m}{n:03d}"
                yield number, {
                    "setl_id": setl_id,
                    "mdtrt_id": f"MD{clinic.code[-6:]}{month:%y%m}{n:03d}",
                    "psn_no": f"4510{rng.randrange(10**11):011d}",
                    "psn_name": "演示患者",
                    "certno": "",
                    "insutype": "390" if rng.random() < 0.9 else "310",
                    "clr_type": "11" if rng.random() < 0.85 else "14",
                    "medfee_sumamt": f"{(fund + acct + cash) / 100:.2f}",
                    "fund_pay_sumamt": f"{fund / 100:.2f}",
                    "hifp_pay": f"{hifp / 100:.2f}",
                    "maf_pay": f"{maf / 100:.2f}",
                    "acct_pay": f"{acct / 100:.2f}",
                    "psn_cash_pay": f"{cash / 100:.2f}",
                    "setl_time": f"{month:%Y-%m}-{1 + n % 28:02d} {8 + n % 9:02d}:{(n * 7) % 60:02d}:00",
                    "fixmedins_code": clinic.code,
                    "atddr_no": doctors[n % len(doctors)] if doctors else "",
                    "init_setl_id": "",
                }
                number += 1


@transaction.atomic
def seed_demo_settlements(counts: dict) -> None:
    counts.setdefault("settlementrecord", {"created": 0, "existing": 0})
    clinics = list(Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, is_active=True,
                                           settlement_enabled=True).order_by("code"))
    rows = list(demo_rows(clinics, _practitioner_codes()))
    existing = SettlementKey.objects.filter(setl_id__startswith=PREFIX).count()
    if rows and existing >= len(rows):
        counts["settlementrecord"]["existing"] += existing
        return
    batch = settlements_import(source="seed", rows=rows, filename="demo", is_demo=True)
    # One refund in the latest month, so the reversal path shows in the demo.
    last = [r for _, r in rows if r["setl_time"].startswith(f"{DEMO_MONTHS[-1]:%Y-%m}")]
    if last:
        original = last[0]
        reversal = dict(original, setl_id=f"{PREFIX}R{original['setl_id'][len(PREFIX):]}",
                        setl_time=original["setl_time"][:11] + "18:55:00", init_setl_id=original["setl_id"])
        settlements_import(source="seed", rows=[(1, reversal)], filename="demo-reversal", is_demo=True)
    counts["settlementrecord"]["created"] += batch.accepted
    counts["settlementrecord"]["existing"] += batch.duplicates
    anomalies_detect(month=DEMO_MONTHS[-1])
