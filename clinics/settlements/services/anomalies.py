"""Activity anomalies: a clinic whose monthly insured visits fall by half or more against the same
month last year or against its average of the three months before, or that had no settlement at
all in a month it was on duty. "On duty" is read from the register (an active village clinic
enabled for settlement), since the settlement log sits below the rosters and does not read them."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from clinics.models import Facility
from clinics.settlements.models import ActivityAnomaly
from clinics.settlements.partitions import add_months, month_start
from clinics.settlements.selectors import monthly_visits

DROP_THRESHOLD = Decimal("0.5")  # visits at or below half the comparison figure
ONE_PLACE = Decimal("0.1")


def _change(visits: int, baseline: Decimal) -> Decimal:
    return ((Decimal(visits) - baseline) * 100 / baseline).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


@transaction.atomic
def anomalies_detect(*, month: datetime.date) -> list[ActivityAnomaly]:
    """Flag the clinics of `month` (any day of it); replaces that month's earlier flags. Derived
    figures, recomputed at will, so no audit entry."""
    month = month_start(month)
    last_year = add_months(month, -12)
    previous = [add_months(month, -n) for n in (1, 2, 3)]
    clinics = list(
        Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, is_active=True, settlement_enabled=True)
        .values_list("pk", flat=True)
    )
    visits = monthly_visits(months=[month, last_year, *previous], facility_ids=clinics)
    found = []
    for facility_id in clinics:
        now = visits.get((facility_id, month), 0)
        average = (sum(Decimal(visits.get((facility_id, m), 0)) for m in previous) / 3).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)
        year_ago = Decimal(visits.get((facility_id, last_year), 0)).quantize(ONE_PLACE)
        if now <= 0:
            found.append(ActivityAnomaly(facility_id=facility_id, month=month, kind=ActivityAnomaly.Kind.NO_SETTLEMENTS,
                                         visits=now, baseline=average,
                                         change_pct=_change(now, average) if average > 0 else Decimal("0.0")))
            continue
        if year_ago > 0 and now <= year_ago * DROP_THRESHOLD:
            found.append(ActivityAnomaly(facility_id=facility_id, month=month, kind=ActivityAnomaly.Kind.YEAR_ON_YEAR,
                                         visits=now, baseline=year_ago, change_pct=_change(now, year_ago)))
        if average > 0 and now <= average * DROP_THRESHOLD:
            found.append(ActivityAnomaly(facility_id=facility_id, month=month, kind=ActivityAnomaly.Kind.THREE_MONTH,
                                         visits=now, baseline=average, change_pct=_change(now, average)))
    ActivityAnomaly.objects.filter(month=month).delete()
    ActivityAnomaly.objects.bulk_create(found, batch_size=1000)
    return found
