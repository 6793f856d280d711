"""Demo contract service fee terms and a demo contract register for the Leye demo doctors. Every
value is a demo value (labelled so): a county enters its real fee on a new policy version and
imports its real contract list. Idempotent: an entry that exists is left as it is."""

import datetime
from decimal import Decimal

from staffing.models import Doctor
from staffing.payroll.contracts.models import ContractRegister
from staffing.payroll.models import ContractFeePayment, PayPolicy

# effective_from of a demo version -> (fee per contract per year, insurance %, public-health %, resident %)
DEMO_CONTRACT_FEES = {
    datetime.date(2015, 1, 1): (Decimal("10"), Decimal("60"), Decimal("30"), Decimal("10")),
    datetime.date(2019, 7, 1): (Decimal("20"), Decimal("60"), Decimal("30"), Decimal("10")),
}
DEMO_SERVICE_YEARS = (2025, 2026)
DEMO_SOURCE = "演示数据：签约人数为合成数值，非真实签约名单"


def demo_residents(doctor: Doctor, year: int) -> int:
    """A stable synthetic count per doctor and year (300–449), from the doctor's lookup hash."""
    return 300 + (int(doctor.id_number_hash[:6], 16) + year) % 150


def seed_demo_contract_fees(counts: dict) -> None:
    """The demo fee on the demo county versions that have none yet."""
    for effective_from, (fee, insurance, health, resident) in DEMO_CONTRACT_FEES.items():
        updated = PayPolicy.objects.filter(township=None, effective_from=effective_from, is_demo=True, contract_fee_per_year__isnull=True).update(
            contract_fee_per_year=fee, contract_fee_payment=ContractFeePayment.MONTHLY, contract_fee_insurance_share=insurance,
            contract_fee_public_health_share=health, contract_fee_resident_share=resident,
        )
        counts.setdefault("contract fee on demo policy", {"created": 0, "existing": 0})
        counts["contract fee on demo policy"]["created" if updated else "existing"] += 1


def seed_demo_contract_register(counts: dict) -> None:
    counts.setdefault("contract register entry", {"created": 0, "existing": 0})
    doctors = list(Doctor.objects.filter(is_demo=True).only("pk", "id_number_hash"))
    existing = set(ContractRegister.objects.filter(doctor__in=doctors, service_year__in=DEMO_SERVICE_YEARS).values_list("doctor_id", "service_year"))
    new = [
        ContractRegister(doctor=doctor, service_year=year, residents=(n := demo_residents(doctor, year)), households=(n + 2) // 3,
                         source=DEMO_SOURCE, is_demo=True)
        for doctor in doctors for year in DEMO_SERVICE_YEARS if (doctor.pk, year) not in existing
    ]
    ContractRegister.objects.bulk_create(new, ignore_conflicts=True)
    counts["contract register entry"]["created"] += len(new)
    counts["contract register entry"]["existing"] += len(existing)


def seed_contracts(counts: dict) -> None:
    seed_demo_contract_fees(counts)
    seed_demo_contract_register(counts)
