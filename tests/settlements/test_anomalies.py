import datetime

import pytest

from clinics.settlements.models import ActivityAnomaly
from clinics.settlements.services import anomalies_detect, settlements_import
from tests.settlements.helpers import numbered, row

pytestmark = pytest.mark.django_db


def visits(clinic, month: datetime.date, n: int, start: int):
    return [row(clinic, start + i, setl_time=f"{month:%Y-%m}-{1 + i % 28:02d} 10:00:00") for i in range(n)]


def test_year_on_year_and_three_month_drops_and_silence(clinic, other_clinic, clerk):
    from tests.factories import FacilityFactory

    silent = FacilityFactory()
    rows = (visits(clinic, datetime.date(2025, 10, 1), 10, 0)
            + visits(clinic, datetime.date(2026, 7, 1), 8, 100)
            + visits(clinic, datetime.date(2026, 8, 1), 8, 200)
            + visits(clinic, datetime.date(2026, 9, 1), 8, 300)
            + visits(clinic, datetime.date(2026, 10, 1), 4, 400)
            + visits(other_clinic, datetime.date(2025, 10, 1), 4, 500)
            + visits(other_clinic, datetime.date(2026, 10, 1), 3, 600))
    assert settlements_import(source="api", acting_user=clerk, rows=numbered(rows)).accepted == len(rows)

    found = anomalies_detect(month=datetime.date(2026, 10, 15))
    flags = {(a.facility_id, a.kind): a for a in found}
    assert set(flags) == {(clinic.pk, "yoy"), (clinic.pk, "avg3"), (silent.pk, "none")}
    yoy = flags[(clinic.pk, "yoy")]
    assert (yoy.visits, str(yoy.baseline), str(yoy.change_pct)) == (4, "10.0", "-60.0")
    assert str(flags[(clinic.pk, "avg3")].baseline) == "8.0"
    assert flags[(silent.pk, "none")].visits == 0

    anomalies_detect(month=datetime.date(2026, 10, 1))
    assert ActivityAnomaly.objects.count() == 3, "a rerun replaces the month's flags"
