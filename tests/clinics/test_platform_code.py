"""A clinic's platform institution code (定点医药机构编号, "H" + 11 digits) beside its division
code: validated, entered by county-wide roles only, audited, seeded as demo values, and found by
`facility_ids_by_code` under either code."""

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from clinics import services
from clinics.models import Facility, Role, validate_platform_code
from clinics.seeding import seed_register
from clinics.selectors import facility_ids_by_code, facility_rows_by_code
from core.models import AuditEntry
from tests.clinics.test_register_services import facility_form
from tests.factories import FacilityFactory, make_user

pytestmark = pytest.mark.django_db


def refusal_codes(facility: Facility, field: str = "platform_code") -> list[str]:
    with pytest.raises(ValidationError) as refused:
        facility.full_clean()
    return [error.code for error in refused.value.error_dict[field]]


def test_the_pattern_is_h_and_eleven_digits_normalised_first():
    assert validate_platform_code("H45102800001", admdvs="451028") == "H45102800001"
    assert validate_platform_code(" ｈ４５１０２８００００１ ", admdvs="451028") == "H45102800001"  # input method
    assert validate_platform_code("", admdvs="451028") == ""
    for wrong in ("H4510280001", "H451028000011", "X45102800001", "451028100001", "H45102800O01"):
        with pytest.raises(ValidationError) as refused:
            validate_platform_code(wrong, admdvs="451028")
        assert refused.value.code == "platform_code_format", wrong


def test_a_leye_clinic_needs_a_code_of_leye():
    clinic = FacilityFactory.build(platform_code="H44030302178")  # a Shenzhen clinic's code
    assert refusal_codes(clinic) == ["platform_code_county"]
    clinic.platform_code = "h45102800007"
    clinic.full_clean(validate_unique=False)
    assert clinic.platform_code == "H45102800007"


@override_settings(INSURANCE_ADMDVS="451028")
def test_the_county_is_the_division_code_of_the_clinic_else_its_township_else_the_setting(db):
    village = FacilityFactory.build(code="451026100001")  # another county's village
    assert village.admdvs == "451026"
    centre = FacilityFactory.build(kind=Facility.Kind.TOWNSHIP_CENTRE, code="THC451028100")
    assert centre.admdvs == centre.township.code[:6] == "451028"
    hospital = Facility(kind=Facility.Kind.COUNTY_HOSPITAL, code="CH451028", name="医院")
    assert hospital.admdvs == "451028"
    with override_settings(INSURANCE_ADMDVS="451026"):
        assert hospital.admdvs == "451026"


def test_unique_and_kept_apart_from_every_division_code():
    first = FacilityFactory(platform_code="H45102800001")
    second = FacilityFactory.build(platform_code="H45102800001")
    assert refusal_codes(second) == ["unique"]
    # No clinic's code may be another clinic's platform code, nor the reverse: uploads name either.
    hospital = Facility(kind=Facility.Kind.COUNTY_HOSPITAL, code="H45102800001", name="医院", township=first.township)
    assert refusal_codes(hospital, "code") == ["code_taken"]
    other = FacilityFactory(kind=Facility.Kind.TOWNSHIP_CENTRE, code="H45102800002", township=first.township)
    first.platform_code = other.code
    assert refusal_codes(first) == ["code_taken"]
    # Clinics without one are many: an empty code is stored as NULL, not "".
    blank = FacilityFactory.build(platform_code=" ", township=first.township)
    blank.full_clean()
    blank.save()
    assert Facility.objects.get(pk=blank.pk).platform_code is None


def test_lookup_by_either_code():
    clinic = FacilityFactory(platform_code="H45102800005")
    bare = FacilityFactory()
    ids = facility_ids_by_code()
    assert ids[clinic.code] == ids["H45102800005"] == clinic.pk
    assert ids[bare.code] == bare.pk and None not in ids
    assert facility_ids_by_code(Facility.objects.filter(pk=bare.pk)) == {bare.code: bare.pk}
    rows = facility_rows_by_code(None, "settlement_enabled")
    assert rows["H45102800005"] == (clinic.pk, True)


def test_county_admin_enters_it_in_admin_audited(client, county_admin):
    clinic = FacilityFactory()
    client.force_login(county_admin)
    answer = client.post(f"/admin/clinics/facility/{clinic.pk}/change/", facility_form(clinic, platform_code="h45102800009"))
    assert answer.status_code == 302
    clinic.refresh_from_db()
    assert clinic.platform_code == "H45102800009"
    audit = AuditEntry.objects.get(action="facility.update", object_id=str(clinic.pk))
    assert audit.changes == {"platform_code": [None, "H45102800009"]}
    listing = client.get("/admin/clinics/facility/", {"q": "H45102800009"})
    assert list(listing.context["cl"].result_list) == [clinic]


def test_a_wrong_code_in_admin_is_refused_on_the_page(client, county_admin):
    clinic = FacilityFactory()
    client.force_login(county_admin)
    page = client.post(f"/admin/clinics/facility/{clinic.pk}/change/", facility_form(clinic, platform_code="H4510"))
    assert page.status_code == 200
    assert "platform_code" in page.context["adminform"].form.errors
    clinic.refresh_from_db()
    assert clinic.platform_code is None


def test_a_township_admin_cannot_enter_it(client, roles):
    clinic = FacilityFactory()
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=clinic.township)
    client.force_login(township_admin)
    answer = client.post(f"/admin/clinics/facility/{clinic.pk}/change/", facility_form(clinic, platform_code="H45102800003"))
    assert answer.status_code == 403  # the register is read-only for a township's admin in admin
    # And the service refuses it to any role that is not county-wide, whatever the page.
    with pytest.raises(ValidationError):
        services.facility_save(facility=clinic, acting_user=township_admin, platform_code="H45102800003")
    assert Facility.objects.get(pk=clinic.pk).platform_code is None


def test_the_api_clinic_list_shows_it(api_client, county_admin):
    clinic = FacilityFactory(platform_code="H45102800004")
    api_client.force_authenticate(county_admin)
    answer = api_client.get("/api/v1/clinics/")
    assert answer.status_code == 200
    body = answer.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [r["platform_code"] for r in rows if r["code"] == clinic.code] == ["H45102800004"]


def test_seeds_give_the_88_village_clinics_deterministic_codes_and_keep_an_entered_one():
    seed_register({})
    villages = Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC).order_by("code")
    codes = list(villages.values_list("platform_code", flat=True))
    assert codes == [f"H451028{n:05d}" for n in range(1, 89)]
    for clinic in villages:
        clinic.full_clean()
    assert not Facility.objects.exclude(kind=Facility.Kind.VILLAGE_CLINIC).exclude(platform_code=None).exists()
    first = villages.first()
    Facility.objects.filter(pk=first.pk).update(platform_code="H45102899999")
    counts = {}
    seed_register(counts)
    assert counts["facility"]["created"] == 0
    assert Facility.objects.get(pk=first.pk).platform_code == "H45102899999"
    assert list(villages.values_list("platform_code", flat=True))[1:] == codes[1:]
