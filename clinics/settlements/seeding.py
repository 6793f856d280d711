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


def _visit(rng: random.Random, clinic: Facility, month: datetime.date, n: int, doctors: list[str]) -> dict:
    """One outpatient settlement as the platform's 2207 answers it (setlinfo), in cents until the
    end: the funds (pooled fund, critical-illness insurance, medical assistance) plus the personal
    share (account + cash) plus, at a few visits, the clinic's own share make the total."""
    chronic = rng.random() < 0.15  # 门诊慢特病: a medical category, cleared as ordinary outpatient (11)
    employee = rng.random() < 0.1
    hifp = rng.randrange(1500, 6000)
    hifmi = 0 if employee else rng.choice([0, 0, 0, 0, 300])
    maf = rng.choice([0, 0, 0, 500, 1000])
    acct = rng.choice([0, 0, 200, 500])
    cash = rng.randrange(300, 1500)
    hosp = rng.choice([0] * 9 + [200])  # the clinic waives part of the bill
    fund = hifp + hifmi + maf
    total = fund + acct + cash + hosp
    ownpay = rng.choice([0, 0, 0, 100])
    born = datetime.date(1940 + rng.randrange(70), 1 + rng.randrange(12), 1 + rng.randrange(28))
    code = f"{clinic.code[-6:]}{month:%y%m}{n:03d}"

    def yuan(cents: int) -> str:
        return f"{cents / 100:.2f}"

    return {
        "setl_id": f"{PREFIX}{code}",
        "mdtrt_id": f"MD{code}",
        "psn_no": f"4510{rng.randrange(10**11):011d}",
        "psn_name": "演示患者",
        "psn_cert_type": "01",
        "certno": "",
        "gend": rng.choice(["1", "2"]),
        "naty": "01" if rng.random() < 0.4 else "08",  # 汉族, 壮族
        "brdy": f"{born:%Y-%m-%d}",
        "age": f"{(month - born).days // 365}.0",
        "insutype": "310" if employee else "390",
        "psn_type": "1101" if employee else rng.choice(["1501", "16", "1403"]),
        "cvlserv_flag": "0",
        "mdtrt_cert_type": rng.choice(["01", "02", "03"]),
        "med_type": "14" if chronic else "11",
        "medfee_sumamt": yuan(total),
        "fulamt_ownpay_amt": yuan(ownpay),
        "overlmt_selfpay": "0.00",
        "preselfpay_amt": "0.00",
        "inscp_scp_amt": yuan(total - ownpay),
        "act_pay_dedc": "0.00",
        "hifp_pay": yuan(hifp),
        "pool_prop_selfpay": "0.0000",
        "cvlserv_pay": "0.00",
        "hifes_pay": "0.00",
        "hifmi_pay": yuan(hifmi),
        "hifob_pay": "0.00",
        "maf_pay": yuan(maf),
        "oth_pay": "0.00",
        "fund_pay_sumamt": yuan(fund),
        "psn_part_amt": yuan(acct + cash),
        "acct_pay": yuan(acct),
        "psn_cash_pay": yuan(cash),
        "hosp_part_amt": yuan(hosp),
        "balc": yuan(rng.randrange(0, 50000)) if acct else "0.00",
        "acct_mulaid_pay": "0.00",
        "medins_setl_id": f"HIS{code}",
        "clr_optins": "451028",  # 乐业县医保经办机构 (the county's division code)
        "clr_way": "01",
        "clr_type": "11",
        "setl_time": f"{month:%Y-%m}-{1 + n % 28:02d} {8 + n % 9:02d}:{(n * 7) % 60:02d}:00",
        # the clinic named as the platform names it when it has its institution code
        "fixmedins_code": clinic.platform_code or clinic.code,
        "atddr_no": doctors[n % len(doctors)] if doctors else "",
        "init_setl_id": "",
    }


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
                yield number, _visit(rng, clinic, month, n, doctors)
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
