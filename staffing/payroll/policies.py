"""The pay policies in force: every policy version loaded once per run, resolved per township and
day (a township version overrides the county version component by component).

Dated rules mean what they say: a version is in force from its `effective_from` day, also when
that day is not the 1st. `segments` cuts a month at every version's first day, so a monthly
amount is paid pro rata by the days each version was in force (`prorated_parts`), each part on its
own line naming its version (setting PAYROLL_MIDMONTH_POLICY = "prorate", the default). With
"refuse", a version from any day but the 1st is refused at entry
(`staffing.payroll.services.policies`); versions stored earlier are still applied pro rata."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from staffing.payroll.models import ContractFeePayment, FundingSource, PayPolicy
from staffing.payroll.money import money

DEFAULT_MINIMUM = Decimal("3000")
HUNDRED = Decimal("100")


@dataclass
class ResolvedComponent:
    amount: Decimal
    funding_source: str
    policy_id: int


@dataclass(frozen=True)
class ContractFeeTerms:
    """The contract service fee of a version: yuan per contract per year, how it is paid, and
    its funding split ((source, share as a fraction), ...) with shares summing to 1."""

    fee_per_year: Decimal
    payment: str
    funding: tuple
    percentages: dict  # source -> percentage as entered, for the line's source
    policy_id: int

    @property
    def by_assessment(self) -> bool:
        return self.payment == ContractFeePayment.BY_ASSESSMENT


@dataclass
class ResolvedPolicy:
    components: dict
    bands: list  # (min_score, monthly_amount, label, policy_id), highest first
    guaranteed_minimum: Decimal
    contract_fee: ContractFeeTerms | None = None


@dataclass(frozen=True)
class PolicySegment:
    """Days of a month under one resolved policy: `start`..`end` inclusive."""

    start: datetime.date
    end: datetime.date
    policy: ResolvedPolicy

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def covers(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end


def contract_fee_terms(version: PayPolicy) -> ContractFeeTerms | None:
    if version.contract_fee_per_year is None:
        return None
    percentages = {
        FundingSource.MEDICAL_INSURANCE: version.contract_fee_insurance_share,
        FundingSource.PUBLIC_HEALTH_FUND: version.contract_fee_public_health_share,
        FundingSource.RESIDENT: version.contract_fee_resident_share,
    }
    funding = tuple((str(source), share / HUNDRED) for source, share in percentages.items() if share)
    return ContractFeeTerms(
        fee_per_year=version.contract_fee_per_year,
        payment=version.contract_fee_payment,
        funding=funding,
        percentages={str(source): str(share) for source, share in percentages.items()},
        policy_id=version.pk,
    )


def prorated_parts(amounts_days: list[tuple[Decimal, int]], days_in_month: int) -> list[Decimal]:
    """The parts of a monthly amount paid by days in force: part i is amount_i × days_i ÷ days in
    the month, rounded half up to the cent, except the last, which takes what is left of the exact
    total (the sum of the unrounded parts rounded once), so the parts add up to it exactly."""
    if not amounts_days:
        return []
    exact = [Decimal(amount) * days / days_in_month for amount, days in amounts_days]
    total = money(sum(exact, Decimal(0)))
    parts = [money(e) for e in exact[:-1]]
    parts.append(total - sum(parts, Decimal(0)))
    return parts


class PolicyBook:
    """All policy versions, loaded once; resolves the rules in force for a township and day."""

    def __init__(self):
        versions = list(PayPolicy.objects.prefetch_related("components", "bands").order_by("effective_from"))
        self.county = [v for v in versions if v.township_id is None]
        self.by_township = defaultdict(list)
        for v in versions:
            if v.township_id is not None:
                self.by_township[v.township_id].append(v)
        self._cache = {}
        self._segments = {}
        self._by_day = {}

    @staticmethod
    def _in_force(versions, day):
        current = None
        for v in versions:
            if v.effective_from <= day:
                current = v
        return current

    def resolve(self, township_id, day: datetime.date) -> ResolvedPolicy:
        """The rules in force on `day` (a month's first day for the rules of the month's start)."""
        found = self._by_day.get((township_id, day))
        if found is None:
            found = self._by_day[(township_id, day)] = self._resolve(township_id, day)
        return found

    def _resolve(self, township_id, day: datetime.date) -> ResolvedPolicy:
        county = self._in_force(self.county, day)
        local = self._in_force(self.by_township.get(township_id, []), day)
        key = (getattr(county, "pk", None), getattr(local, "pk", None))
        if key not in self._cache:
            components = {}
            bands = []
            minimum = DEFAULT_MINIMUM
            contract_fee = None
            for version in (county, local):  # the township version overrides component by component
                if version is None:
                    continue
                for c in version.components.all():
                    components[c.component] = ResolvedComponent(c.amount, c.funding_source, version.pk)
                version_bands = list(version.bands.all())
                if version_bands:
                    bands = [(b.min_score, b.monthly_amount, b.label, version.pk) for b in version_bands]
                if version.guaranteed_minimum is not None:
                    minimum = version.guaranteed_minimum
                contract_fee = contract_fee_terms(version) or contract_fee
            bands.sort(key=lambda b: b[0], reverse=True)
            self._cache[key] = ResolvedPolicy(components, bands, minimum, contract_fee)
        return self._cache[key]

    def segments(self, township_id, month: datetime.date, last_day: datetime.date) -> list[PolicySegment]:
        """The month cut at each version's first day that falls inside it (county or township):
        one segment for a month without a mid-month version."""
        key = (township_id, month)
        if key not in self._segments:
            starts = {month}
            for version in (*self.county, *self.by_township.get(township_id, [])):
                if month < version.effective_from <= last_day:
                    starts.add(version.effective_from)
            ordered = sorted(starts)
            ends = [d - datetime.timedelta(days=1) for d in ordered[1:]] + [last_day]
            self._segments[key] = [PolicySegment(start, end, self.resolve(township_id, start)) for start, end in zip(ordered, ends, strict=True)]
        return self._segments[key]
