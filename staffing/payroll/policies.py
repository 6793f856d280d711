"""The pay policies in force: every policy version loaded once per run, resolved per township and
month (a township version overrides the county version component by component)."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from staffing.payroll.models import PayPolicy

DEFAULT_MINIMUM = Decimal("3000")


@dataclass
class ResolvedComponent:
    amount: Decimal
    funding_source: str
    policy_id: int


@dataclass
class ResolvedPolicy:
    components: dict
    bands: list  # (min_score, monthly_amount, label, policy_id), highest first
    guaranteed_minimum: Decimal


class PolicyBook:
    """All policy versions, loaded once; resolves the rules in force for a township and month."""

    def __init__(self):
        versions = list(PayPolicy.objects.prefetch_related("components", "bands").order_by("effective_from"))
        self.county = [v for v in versions if v.township_id is None]
        self.by_township = defaultdict(list)
        for v in versions:
            if v.township_id is not None:
                self.by_township[v.township_id].append(v)
        self._cache = {}

    @staticmethod
    def _in_force(versions, day):
        current = None
        for v in versions:
            if v.effective_from <= day:
                current = v
        return current

    def resolve(self, township_id, month: datetime.date) -> ResolvedPolicy:
        key = (township_id, month)
        if key not in self._cache:
            county = self._in_force(self.county, month)
            local = self._in_force(self.by_township.get(township_id, []), month)
            components = {}
            bands = []
            minimum = DEFAULT_MINIMUM
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
            bands.sort(key=lambda b: b[0], reverse=True)
            self._cache[key] = ResolvedPolicy(components, bands, minimum)
        return self._cache[key]
