"""Demo settlements for Leye's village clinics (synthetic, marked demo), day by day from the
first day of the month three months before last month up to yesterday (the day `load_seeds`
builds the demo for, `clinics.seeding.seed_today`), so the summaries, the payroll consultation
fee, reconciliation and the anomaly check (which compares last month with the three before it)
have something to show. Everything goes through the settlement ingest service, so its rules hold.

Idempotent: a setl_id is deterministic (clinic, day, number), a day already in the log is not
sent again, and a later run sends only the days since."""

import datetime
import random

from django.apps import apps
from django.db import transaction

from clinics.models import Facility
from clinics.seeding import seed_today
from clinics.settlements.models import ActivityAnomaly, SettlementKey
from clinics.settlements.partitions import add_months, month_start
from clinics.settlements.services import anomalies_detect, settlements_import

HISTORY_MONTHS = 3  # the months before last month that the anomaly check averages
# Insured visits a clinic settles a day (a village clinic of ~2,000 people): weekdays and the
# weekend, drawn per clinic and day. About 150 a month, half Leye's ~280, to keep the seeds fast.
WEEKDAY_VISITS = (4, 8)
WEEKEND_VISITS = (1, 3)
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


def day_code(clinic: Facility, day: datetime.date, n: int) -> str:
    """Clinic (last 6 digits of its division code), day and visit number: unique in the county."""
    return f"{clinic.code[-6:]}{day:%y%m%d}{n:03d}"


def _visit(rng: random.Random, clinic: Facility, day: datetime.date, n: int, doctors: list[str]) -> dict:
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
    code = day_code(clinic, day, n)

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
        "age": f"{(day - born).days // 365}.0",
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
        "setl_time": f"{day:%Y-%m-%d} {8 + n % 10:02d}:{(n * 7) % 60:02d}:00",
        # the clinic named as the platform names it when it has its institution code
        "fixmedins_code": clinic.platform_code or clinic.code,
        "atddr_no": doctors[n % len(doctors)] if doctors else "",
        "init_setl_id": "",
    }


def seed_window(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The days the demo log covers: the first day of the month HISTORY_MONTHS before last month,
    up to yesterday (today's settlements are not in yet)."""
    last_month = month_start(today.replace(day=1) - datetime.timedelta(days=1))
    return add_months(last_month, -HISTORY_MONTHS), today - datetime.timedelta(days=1)


def day_rows(rng_key: str, clinic: Facility, day: datetime.date, doctors: list[str], *, factor: float = 1.0) -> list[dict]:
    """The clinic's settlements of the day, the same whenever they are made (a per-day generator;
    `factor` thins the day out without changing the visits it keeps)."""
    rng = random.Random(f"{rng_key}-{clinic.code}-{day:%Y%m%d}")
    low, high = WEEKEND_VISITS if day.weekday() >= 5 else WEEKDAY_VISITS
    visits = rng.randint(low, high)
    rows = [_visit(rng, clinic, day, n, doctors) for n in range(visits)]
    return rows[: int(len(rows) * factor)]


def _factor(index: int, day: datetime.date, last_month: datetime.date) -> float:
    """Two kinds of trouble in last month, so the anomaly check has something to flag."""
    if month_start(day) != last_month:
        return 1.0
    if index % 43 == 11:
        return 0.0  # a clinic with no settlement at all last month
    if index % 29 == 5:
        return 1 / 3  # a clinic whose activity collapsed
    return 1.0


def demo_rows(clinics: list[Facility], codes: dict[int, list[str]], *, today: datetime.date, existing: set[str]):
    """(row number, row) of every demo settlement of the window not yet in the log."""
    first, last = seed_window(today)
    last_month = month_start(today.replace(day=1) - datetime.timedelta(days=1))
    days = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    number = 1
    for index, clinic in enumerate(clinics):
        doctors = codes.get(clinic.pk, [])
        for day in days:
            if f"{PREFIX}{day_code(clinic, day, 0)}" in existing:
                continue  # the day is in the log already (a day is sent whole)
            for row in day_rows("settlements", clinic, day, doctors, factor=_factor(index, day, last_month)):
                if row["setl_id"] not in existing:
                    yield number, row
                    number += 1


def _reversal(clinics: list[Facility], codes: dict[int, list[str]], *, today: datetime.date, existing: set[str]) -> dict | None:
    """One refund in last month (its first clinic's first visit of the month), so the reversal
    path shows in the demo; None when it is in the log already or its original is not."""
    last_month = month_start(today.replace(day=1) - datetime.timedelta(days=1))
    for clinic in clinics[:1]:
        rows = day_rows("settlements", clinic, last_month, codes.get(clinic.pk, []))
        if not rows:
            return None
        original = rows[0]
        setl_id = f"{PREFIX}R{original['setl_id'][len(PREFIX):]}"
        if setl_id in existing or not SettlementKey.objects.filter(setl_id=original["setl_id"]).exists():
            return None
        return dict(original, setl_id=setl_id, setl_time=original["setl_time"][:11] + "18:55:00", init_setl_id=original["setl_id"])
    return None


def seed_demo_settlements(counts: dict) -> None:
    counts.setdefault("settlementrecord", {"created": 0, "existing": 0})
    today = seed_today(counts)
    clinics = list(Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, is_active=True, settlement_enabled=True,
                                           code__startswith="451028").order_by("code"))
    codes = _practitioner_codes()
    first, last = seed_window(today)
    existing = set(SettlementKey.objects.filter(setl_id__startswith=PREFIX).values_list("setl_id", flat=True))
    counts["settlementrecord"]["existing"] += len(existing)
    created = 0
    batch: list = []
    for pair in demo_rows(clinics, codes, today=today, existing=existing):
        batch.append(pair)
        if len(batch) >= IMPORT_BATCH:
            created += _import(batch)
            batch = []
    if batch:
        created += _import(batch)
    reversal = _reversal(clinics, codes, today=today, existing=existing)
    if reversal is not None:
        created += _import([(1, reversal)], filename="demo-reversal")
    counts["settlementrecord"]["created"] += created
    last_month = month_start(today.replace(day=1) - datetime.timedelta(days=1))
    if created or not ActivityAnomaly.objects.filter(month=last_month).exists():
        anomalies_detect(month=last_month)


IMPORT_BATCH = 20000


@transaction.atomic
def _import(rows: list, *, filename: str = "demo") -> int:
    batch = settlements_import(source="seed", rows=rows, filename=filename, is_demo=True)
    return batch.accepted
