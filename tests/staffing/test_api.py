import pytest
from django.urls import reverse

from clinics.models import Role
from tests.conftest import api_as
from tests.factories import FacilityFactory, PostingFactory, TownshipFactory, clinic_with_doctors, make_user

pytestmark = pytest.mark.django_db


def make_clinics(n, township=None):
    township = township or TownshipFactory()
    for _ in range(n):
        clinic_with_doctors(2, township=township)
    return township


def test_clinics_list_shows_coverage_and_filters_understaffed(county_admin):
    township = make_clinics(2)
    short = FacilityFactory(township=township)
    PostingFactory(facility=short)

    response = api_as(county_admin).get(reverse("api:clinic-list"), {"understaffed": "true"})

    assert response.status_code == 200
    codes = [c["code"] for c in response.json()["results"]]
    assert codes == [short.code]
    assert response.json()["results"][0]["active_doctors"] == 1


@pytest.mark.parametrize("url_name", ["api:clinic-list", "api:doctor-list"])
def test_query_count_does_not_grow_with_rows(county_admin, django_assert_max_num_queries, url_name):
    make_clinics(3)
    client = api_as(county_admin)
    with django_assert_max_num_queries(6) as small:
        client.get(reverse(url_name), {"page_size": 200})
    make_clinics(12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse(url_name), {"page_size": 200})
    assert response.json()["count"] >= 15


def test_village_doctor_sees_only_own_clinic(roles):
    clinic, doctors = clinic_with_doctors(2)
    other, others = clinic_with_doctors(2)
    user = make_user(Role.VILLAGE_DOCTOR, doctor=doctors[0])
    client = api_as(user)

    clinics = client.get(reverse("api:clinic-list")).json()["results"]
    assert [c["code"] for c in clinics] == [clinic.code]
    names = {d["name"] for d in client.get(reverse("api:doctor-list")).json()["results"]}
    assert names == {d.name for d in doctors}
    assert client.get(reverse("api:doctor-detail", args=[others[0].pk])).status_code == 404


def test_township_admin_sees_own_township_and_filters_by_township(roles):
    mine = make_clinics(2)
    make_clinics(2)
    admin = make_user(Role.TOWNSHIP_ADMIN, township=mine)
    results = api_as(admin).get(reverse("api:clinic-list")).json()["results"]
    assert len(results) == 2 and {c["township_code"] for c in results} == {mine.code}


def test_doctor_list_masks_personal_data(county_admin):
    _, doctors = clinic_with_doctors(1)
    data = api_as(county_admin).get(reverse("api:doctor-list")).json()["results"][0]
    assert "*" in data["id_number"] and data["id_number"] != doctors[0].id_number
    assert data["bank_account"].startswith("****")


def test_anonymous_gets_401_or_403(api_client):
    assert api_client.get(reverse("api:clinic-list")).status_code in (401, 403)


def test_openapi_schema_and_docs_render(county_admin, client):
    client.force_login(county_admin)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/clinics/" in schema.content
    assert client.get("/api/docs/").status_code == 200
