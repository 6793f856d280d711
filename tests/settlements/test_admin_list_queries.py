"""The settlement lists at a province's scale (issue 18): the clinic filter lists a township's
clinics once the reach holds too many to list, and filtering by township or clinic narrows the rows."""

import pytest

from clinics.settlements import admin as settlement_admin
from clinics.settlements.services import settlements_import
from tests.factories import FacilityFactory
from tests.settlements.helpers import numbered, row

pytestmark = pytest.mark.django_db
LIST = "/admin/settlements/settlementrecord/"


def clinic_choices(response) -> set[str]:
    """The clinics the filter offers (a filter with nothing to offer is not shown at all)."""
    spec = next((f for f in response.context["cl"].filter_specs if f.parameter_name == "clinic"), None)
    return {value for value, _ in spec.lookup_choices} if spec else set()


def test_clinic_filter_lists_a_townships_clinics_once_the_reach_holds_too_many(
    clinic, other_clinic, clerk, county_admin, client, monkeypatch
):
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 1), row(other_clinic, 2)]))
    far = FacilityFactory(settlement_enabled=True)
    client.force_login(county_admin)
    everyone = clinic_choices(client.get(LIST))
    assert {str(clinic.pk), str(other_clinic.pk), str(far.pk)} <= everyone
    monkeypatch.setattr(settlement_admin, "LIST_CLINICS_AT_MOST", 1)
    assert clinic_choices(client.get(LIST)) == set()
    in_township = client.get(f"{LIST}?township={far.township_id}")
    assert far.township_id != clinic.township_id
    assert clinic_choices(in_township) == {str(far.pk)}
    chosen = client.get(f"{LIST}?clinic={clinic.pk}")
    assert clinic_choices(chosen) == {str(clinic.pk)}
    assert {r.facility_id for r in chosen.context["cl"].result_list} == {clinic.pk}
    by_township = client.get(f"{LIST}?township={clinic.township_id}")
    assert {r.facility.township_id for r in by_township.context["cl"].result_list} == {clinic.township_id}
