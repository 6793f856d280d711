import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clinics.models import Role
from staffing.models import Doctor
from tests.factories import (
    DoctorFactory,
    FacilityFactory,
    PostingFactory,
    TownshipFactory,
    clinic_with_doctors,
    make_user,
)

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:staffing_doctor_changelist",
    "admin:staffing_posting_changelist",
    "admin:staffing_cliniccoverage_changelist",
    "admin:clinics_facility_changelist",
    "admin:clinics_township_changelist",
    "admin:core_auditentry_changelist",
]


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_changelist_query_count_is_flat(client, county_admin, django_assert_max_num_queries, url_name):
    client.force_login(county_admin)
    township = TownshipFactory()
    for _ in range(3):
        clinic_with_doctors(2, township=township)
    with django_assert_max_num_queries(40) as small:
        assert client.get(reverse(url_name)).status_code == 200
    for _ in range(12):
        clinic_with_doctors(2, township=township)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse(url_name)).status_code == 200


def test_admin_is_in_chinese(client, county_admin):
    client.force_login(county_admin)
    page = client.get(reverse("admin:staffing_doctor_changelist")).content.decode()
    assert "医生" in page and "执照" in page


def test_coverage_filter_understaffed(client, county_admin):
    client.force_login(county_admin)
    full, _ = clinic_with_doctors(2)
    short, _ = clinic_with_doctors(1)
    page = client.get(reverse("admin:staffing_cliniccoverage_changelist"), {"understaffed": "yes"}).content.decode()
    assert short.code in page and full.code not in page
    assert "1 / 2" in page


def test_licence_filters(client, county_admin):
    client.force_login(county_admin)
    soon = PostingFactory(doctor__licence_expiry=timezone.localdate() + datetime.timedelta(days=30)).doctor
    later = PostingFactory(doctor__licence_expiry=timezone.localdate() + datetime.timedelta(days=400)).doctor
    none = PostingFactory(doctor__licence_number="", doctor__licence_expiry=None).doctor
    page = client.get(reverse("admin:staffing_doctor_changelist"), {"licence": "expiring"}).content.decode()
    assert soon.name in page and later.name not in page
    page = client.get(reverse("admin:staffing_doctor_changelist"), {"licence": "none"}).content.decode()
    assert none.name in page and soon.name not in page


def test_township_admin_changelist_is_scoped(client, roles):
    mine, my_doctors = clinic_with_doctors(2)
    _, other_doctors = clinic_with_doctors(2)
    admin = make_user(Role.TOWNSHIP_ADMIN, township=mine.township)
    client.force_login(admin)
    page = client.get(reverse("admin:staffing_doctor_changelist")).content.decode()
    assert my_doctors[0].name in page and other_doctors[0].name not in page


def test_search_by_id_number_uses_the_keyed_hash(client, county_admin):
    client.force_login(county_admin)
    doctor = PostingFactory().doctor
    other = PostingFactory().doctor
    page = client.get(reverse("admin:staffing_doctor_changelist"), {"q": doctor.id_number}).content.decode()
    assert doctor.name in page and other.name not in page


def test_import_view_lists_bad_rows_and_imports_nothing(client, county_admin):
    client.force_login(county_admin)
    clinic, _ = clinic_with_doctors(0)
    content = "name,sex,birth_date,id_number,mobile,qualification,hire_date,clinic_code\n甲,男,1980-01-01,123,1380000,乡村医生,2020-01-01,000\n"
    response = client.post(
        reverse("admin:staffing_doctor_import"),
        {"file": SimpleUploadedFile("d.csv", content.encode("utf-8"))},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "import-errors" in page and "手机号" in page
    assert Doctor.objects.count() == 0


def test_export_masks_id_for_township_admin(client, roles):
    clinic, doctors = clinic_with_doctors(1)
    admin = make_user(Role.TOWNSHIP_ADMIN, township=clinic.township)
    admin.user_permissions.clear()
    client.force_login(admin)
    response = client.post(
        reverse("admin:staffing_doctor_changelist"),
        {"action": "export_csv", "_selected_action": [doctors[0].pk]},
    )
    body = response.content.decode("utf-8-sig")
    assert response.status_code == 200
    assert doctors[0].id_number not in body and "********" in body


def test_doctor_admin_create_goes_through_the_service(client, county_admin):
    client.force_login(county_admin)
    DoctorFactory.reset_sequence(500)
    response = client.post(
        reverse("admin:staffing_doctor_add"),
        {
            "name": "新医生", "sex": "M", "birth_date": "1985-06-15", "id_number": "12345",
            "mobile": "13900000000", "qualification": "village_doctor", "status": "active",
            "hire_date": "2024-01-01", "postings-TOTAL_FORMS": "0", "postings-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # form redisplayed with the error
    assert "18" in response.content.decode()
    assert not Doctor.objects.filter(name="新医生").exists()


def test_adding_a_posting_in_admin_moves_the_doctor(client, county_admin):
    client.force_login(county_admin)
    posting = PostingFactory()
    other = FacilityFactory()
    response = client.post(
        reverse("admin:staffing_posting_add"),
        {"doctor": posting.doctor.pk, "facility": other.pk, "start_date": "2026-03-01"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    posting.refresh_from_db()
    assert str(posting.end_date) == "2026-02-28"
    assert posting.doctor.postings.get(end_date__isnull=True).facility == other


def test_bad_posting_input_in_admin_is_a_chinese_form_error_not_a_500(client, county_admin):
    client.force_login(county_admin)
    posting = PostingFactory()
    too_early = client.post(
        reverse("admin:staffing_posting_add"),
        {"doctor": posting.doctor.pk, "facility": FacilityFactory().pk, "start_date": "2019-01-01"},
    )
    assert too_early.status_code == 200 and "入职日期" in too_early.content.decode()
    cleared = client.post(reverse("admin:staffing_posting_change", args=[posting.pk]), {"end_date": ""})
    assert cleared.status_code == 200 and "结束" in cleared.content.decode()
    posting.refresh_from_db()
    assert posting.end_date is None


def test_a_township_admins_add_form_leaves_the_county_admins_change_form_as_it_was(county_admin, rf):
    """The add form makes its clinic required for a township admin; that must not stick to the
    form class the next request (a county admin's change form) gets."""
    from django.contrib import admin as django_admin

    from clinics.models import Role
    from staffing.models import Doctor
    from tests.factories import DoctorFactory, TownshipFactory, make_user

    model_admin = django_admin.site._registry[Doctor]
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=TownshipFactory())
    request = rf.get("/")
    request.user = township_admin
    assert model_admin.get_form(request, None).base_fields["clinic"].required
    request.user = county_admin
    assert "clinic" not in model_admin.get_form(request, DoctorFactory()).base_fields
    assert not model_admin.get_form(request, None).base_fields["clinic"].required
