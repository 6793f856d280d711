"""The contract register: the county's list imported (bad rows kept with their number and reason,
nothing half-imported, resident ID numbers kept only as keyed hash and masked form), reach, and
the admin list."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from clinics.models import Role
from core.hashing import keyed_hash
from staffing.payroll.contracts.models import ContractRegister, ResidentContract
from staffing.payroll.contracts.selectors import contract_register_list
from staffing.payroll.contracts.services import contracts_import
from tests.factories import PostingFactory, make_id_number, make_user

pytestmark = pytest.mark.django_db

HEADER = ["服务年度", "签约医生", "医生证件号码", "居民姓名", "身份证号", "签约日期", "服务包", "户号"]


def resident_id(n):
    return make_id_number(datetime.date(1960, 3, 1), n)


def csv_bytes(rows, header=HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def row(doctor, n, year=2026, household="", signed="2026-01-15", name=None):
    return [year, name or doctor.name, doctor.id_number, f"居民{n}", resident_id(n), signed, "基础包", household]


def test_import_counts_each_doctors_contracts_and_stores_no_clear_id(db):
    a, b = PostingFactory().doctor, PostingFactory().doctor
    rows = [row(a, 1, household="H1"), row(a, 2, household="H1"), row(a, 3, household="H2"), row(b, 4)]
    report = contracts_import(upload=csv_bytes(rows), filename="乐业县签约名单2026.csv", acting_user=None)
    assert report.ok and (report.created, report.contracts) == (2, 4)
    entry = ContractRegister.objects.get(doctor=a, service_year=2026)
    assert (entry.residents, entry.households, entry.source) == (3, 2, "乐业县签约名单2026.csv")
    assert ContractRegister.objects.get(doctor=b).households is None
    stored = ResidentContract.objects.get(resident_key=keyed_hash(resident_id(1)))
    assert stored.resident_id_masked == resident_id(1)[:6] + "********" + resident_id(1)[-4:]
    assert stored.resident_name_masked == "居**"
    # The clear ID number is nowhere in the stored rows.
    for values in ResidentContract.objects.values():
        assert resident_id(1) not in " ".join(str(v) for v in values.values())
    # Importing the same list again changes nothing; a shorter list replaces that doctor's year.
    again = contracts_import(upload=csv_bytes(rows), filename="乐业县签约名单2026.csv", acting_user=None)
    assert (again.created, again.updated) == (0, 2) and ResidentContract.objects.count() == 4
    contracts_import(upload=csv_bytes([row(a, 1)]), filename="更正.csv", acting_user=None)
    assert ContractRegister.objects.get(doctor=a).residents == 1 and ResidentContract.objects.count() == 2


def test_bad_rows_are_listed_with_number_and_reason_and_nothing_is_saved(db):
    a = PostingFactory().doctor
    masked = resident_id(9)[:6] + "********" + resident_id(9)[-4:]
    rows = [
        row(a, 1),                                             # row 2: fine
        row(a, 1),                                             # row 3: the same resident again
        row(a, 2, name="别人"),                                 # row 4: the name is not the register's
        [2026, a.name, "451028198501010000", "居民3", resident_id(3), "2026-01-15", "", ""],  # row 5: bad doctor ID
        [2026, a.name, a.id_number, "居民4", masked, "2026-01-15", "", ""],                  # row 6: masked resident ID
        row(a, 5, signed="2027-02-01"),                        # row 7: signed after the service year
        row(a, 6, year="明年"),                                 # row 8: not a year
        row(a, 7, signed="15/01/2026"),                        # row 9: not a date
    ]
    report = contracts_import(upload=csv_bytes(rows), filename="名单.csv", acting_user=None)
    assert not report.ok
    assert [number for number, _reason in report.errors] == [3, 4, 5, 6, 7, 8, 9]
    reasons = dict(report.errors)
    assert "2" in reasons[3]  # names the first row of the repeated resident
    assert "别人" in reasons[4]
    assert not ContractRegister.objects.exists() and not ResidentContract.objects.exists()


def test_a_resident_contracted_with_another_doctor_the_same_year_is_refused(db):
    a, b = PostingFactory().doctor, PostingFactory().doctor
    assert contracts_import(upload=csv_bytes([row(a, 1)]), filename="一.csv", acting_user=None).ok
    report = contracts_import(upload=csv_bytes([row(b, 1), row(b, 2)]), filename="二.csv", acting_user=None)
    assert [n for n, _r in report.errors] == [2]
    assert not ContractRegister.objects.filter(doctor=b).exists()


def test_a_file_without_the_required_columns_is_refused_whole(db):
    from core.tabular import TableError

    with pytest.raises(TableError):
        contracts_import(upload=csv_bytes([[2026, "x"]], header=["服务年度", "签约医生"]), filename="x.csv", acting_user=None)


def test_an_xlsx_list_with_text_cells_is_read(db):
    a = PostingFactory().doctor
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(row(a, 1))
    sheet.append(row(a, 2))
    data = io.BytesIO()
    book.save(data)
    report = contracts_import(upload=data.getvalue(), filename="名单.xlsx", acting_user=None)
    assert report.ok and ContractRegister.objects.get(doctor=a).residents == 2


def test_a_township_officer_cannot_import_or_see_other_townships_contracts(roles):
    mine, theirs = PostingFactory(), PostingFactory()
    officer = make_user(Role.TOWNSHIP_ADMIN, township=mine.facility.township)
    report = contracts_import(upload=csv_bytes([row(mine.doctor, 1), row(theirs.doctor, 2)]), filename="名单.csv", acting_user=officer)
    assert [n for n, _r in report.errors] == [3]
    assert theirs.doctor.name not in report.errors[0][1]  # the refusal does not name who works elsewhere
    assert not ContractRegister.objects.exists()
    assert contracts_import(upload=csv_bytes([row(mine.doctor, 1)]), filename="名单.csv", acting_user=officer).ok
    ContractRegister.objects.create(doctor=theirs.doctor, service_year=2026, residents=5, source="x")
    assert [r.doctor_id for r in contract_register_list(user=officer)] == [mine.doctor.pk]
    assert contract_register_list(user=make_user(Role.COUNTY_ADMIN)).count() == 2


def test_the_admin_import_page_and_scoped_list(roles, client):
    mine, theirs = PostingFactory(), PostingFactory()
    officer = make_user(Role.TOWNSHIP_ADMIN, township=mine.facility.township)
    officer.is_staff = True
    officer.save(update_fields=["is_staff"])
    client.force_login(officer)
    url = reverse("admin:payroll_contractregister_import")
    upload = SimpleUploadedFile("名单.csv", csv_bytes([row(mine.doctor, 1), row(theirs.doctor, 2)]), content_type="text/csv")
    response = client.post(url, {"file": upload})
    assert response.status_code == 200 and [n for n, _r in response.context["report"].errors] == [3]
    assert not ContractRegister.objects.exists()
    upload = SimpleUploadedFile("名单.csv", csv_bytes([row(mine.doctor, 1)]), content_type="text/csv")
    assert client.post(url, {"file": upload}).status_code == 302
    ContractRegister.objects.create(doctor=theirs.doctor, service_year=2026, residents=5, source="x")
    page = client.get(reverse("admin:payroll_contractregister_changelist"))
    assert page.status_code == 200
    assert [r.doctor_id for r in page.context["cl"].result_list] == [mine.doctor.pk]
    found = client.get(reverse("admin:payroll_contractregister_changelist"), {"q": mine.facility.name})
    assert [r.doctor_id for r in found.context["cl"].result_list] == [mine.doctor.pk]
    # A village doctor has no import.
    doctor_user = make_user(Role.VILLAGE_DOCTOR, doctor=mine.doctor)
    client.force_login(doctor_user)
    assert client.post(url, {"file": SimpleUploadedFile("名单.csv", csv_bytes([row(mine.doctor, 1)]))}).status_code in (302, 403)


def test_admin_list_query_count_is_flat_as_rows_grow(roles, client, county_admin, django_assert_max_num_queries):
    client.force_login(county_admin)
    url = reverse("admin:payroll_contractregister_changelist")
    for n in range(3):
        ContractRegister.objects.create(doctor=PostingFactory().doctor, service_year=2026, residents=100 + n, source="x")
    client.get(url)
    with django_assert_max_num_queries(30) as small:
        assert client.get(url).status_code == 200
    for n in range(30):
        ContractRegister.objects.create(doctor=PostingFactory().doctor, service_year=2026, residents=200 + n, source="x")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200 and response.context["cl"].result_count == 33


def test_the_score_is_recorded_in_admin_through_the_service(roles, client, county_admin):
    entry = ContractRegister.objects.create(doctor=PostingFactory().doctor, service_year=2026, residents=10, source="x")
    client.force_login(county_admin)
    url = reverse("admin:payroll_contractregister_change", args=[entry.pk])
    assert client.post(url, {"assessment_score": "91.5"}).status_code == 302
    entry.refresh_from_db()
    assert entry.assessment_score == 91.5 and entry.assessment_paid_month is not None and entry.assessment_recorded_at is not None
    client.post(url, {"assessment_score": ""})
    entry.refresh_from_db()
    assert entry.assessment_score == 91.5


def test_a_resident_moving_between_two_doctors_in_one_file_is_imported(db):
    """The second import moves resident 1 from b to a (a sorts first): the replaced contracts go
    before any is written, so the one-contract-per-resident-and-year rule holds without an error."""
    a, b = sorted((PostingFactory().doctor, PostingFactory().doctor), key=lambda d: d.pk)
    assert contracts_import(upload=csv_bytes([row(b, 1), row(b, 2), row(a, 3)]), filename="一.csv", acting_user=None).ok
    report = contracts_import(upload=csv_bytes([row(a, 1), row(a, 3), row(b, 2)]), filename="二.csv", acting_user=None)
    assert report.ok, report.errors
    assert ContractRegister.objects.get(doctor=a, service_year=2026).residents == 2
    assert ContractRegister.objects.get(doctor=b, service_year=2026).residents == 1
    assert ResidentContract.objects.filter(register__doctor=a).count() == 2
