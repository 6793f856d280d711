"""Special additional deductions: they reduce the year-to-date tax exactly (computed here on the
annual table), show on the payslip (phone page and admin), are audited, refused across reach and
for frozen months, validated (non-negative, mortgage or rent), and imported all or nothing with
every rejected row kept with its number and reason."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from clinics.models import Role
from core.models import AuditEntry
from core.tabular import xlsx_bytes
from staffing.payroll.models import OneOffItem, Payslip, SpecialDeduction
from staffing.payroll.tax.deductions import special_deduction_save, special_deductions_import
from tests.factories import FacilityFactory, PostingFactory, make_user
from tests.payroll.conftest import NOV, OCT, approve, lines_of, run_month
from tests.payroll.tax.test_bonus import ANNUAL, on_table

pytestmark = pytest.mark.django_db


def annual_tax(taxable):
    return on_table(ANNUAL, taxable, taxable) if taxable > 0 else Decimal("0")


def deduction(doctor, month=OCT, **amounts):
    return special_deduction_save(deduction=SpecialDeduction(doctor=doctor, month=month, **amounts), acting_user=None)


def test_deductions_reduce_the_year_to_date_tax_exactly(policies, visits):
    doctor = PostingFactory(doctor__hire_date=OCT).doctor
    other = PostingFactory(doctor__hire_date=OCT).doctor
    for d in (doctor, other):
        OneOffItem.objects.create(doctor=d, month=OCT, kind="back_pay", amount=Decimal("20000"), description="补发")
    deduction(doctor, children_education=Decimal("2000"), elderly_care=Decimal("3000"))
    run = approve(run_month(OCT))
    with_deductions = Payslip.objects.get(run=run, doctor=doctor)
    without = Payslip.objects.get(run=run, doctor=other)
    # 23,100 income − 5,000 − 200 = 17,900 → 537.00; less 5,000 of deductions 12,900 → 387.00.
    assert without.income_tax == annual_tax(Decimal("17900")) == Decimal("537.00")
    assert with_deductions.income_tax == annual_tax(Decimal("12900")) == Decimal("387.00")
    source = lines_of(with_deductions)[("income_tax", OCT)].source
    assert source["special_additional_total"] == "5000.00" and source["special_additional_deductions"]["elderly_care"] == "3000.00"
    assert source["social_insurance"] == "200.00"
    # November: the year's deductions so far (5,000 + 2,000), cumulative income 26,200.
    deduction(doctor, month=NOV, children_education=Decimal("2000"))
    OneOffItem.objects.create(doctor=doctor, month=NOV, kind="back_pay", amount=Decimal("10000"), description="补发")
    slip = Payslip.objects.get(run=run_month(NOV), doctor=doctor)
    cumulative_taxable = Decimal("23100") + Decimal("13100") - 10000 - 400 - 7000
    assert slip.income_tax == annual_tax(cumulative_taxable) - Decimal("387.00") == Decimal("177.00")


def test_the_payslip_shows_the_deductions_with_cumulative_figures(policies, visits, roles, client, county_admin):
    posting = PostingFactory()
    doctor = posting.doctor
    deduction(doctor, month=datetime.date(2026, 9, 1), housing_rent=Decimal("1500"))
    deduction(doctor, housing_rent=Decimal("1500"), infant_care=Decimal("2000"))
    slip = Payslip.objects.get(run=approve(run_month(OCT)), doctor=doctor)
    user = make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    client.force_login(user)
    page = client.get(reverse("payroll:payslip", args=[slip.pk])).content.decode()
    assert 'data-deduction="housing_rent"' in page and "3,000.00" in page and "1,500.00" in page
    assert 'data-deduction="infant_care"' in page and "2,000.00" in page
    assert 'data-deduction="children_education"' not in page  # nothing this year
    client.force_login(county_admin)
    admin_page = client.get(reverse("admin:payroll_payslip_change", args=[slip.pk])).content.decode()
    assert 'data-deduction="housing_rent"' in admin_page and "3,000.00" in admin_page


def test_entries_are_audited_validated_and_frozen_with_the_month(policies, visits, county_admin):
    doctor = PostingFactory().doctor
    row = special_deduction_save(deduction=SpecialDeduction(doctor=doctor, month=datetime.date(2026, 10, 15),
                                                            continuing_education=Decimal("400")), acting_user=county_admin)
    assert row.month == OCT and row.entered_by == county_admin
    entry = AuditEntry.objects.get(action="special_deduction.create", object_id=str(row.pk))
    assert entry.actor == county_admin and entry.changes["continuing_education"] == [None, "400"]
    with pytest.raises(ValidationError):
        deduction(doctor, month=NOV, mortgage_interest=Decimal("1000"), housing_rent=Decimal("800"))
    with pytest.raises(ValidationError):
        deduction(doctor, month=NOV, elderly_care=Decimal("-1"))
    with pytest.raises(ValidationError):
        deduction(doctor, month=OCT, elderly_care=Decimal("1"))  # one row per doctor and month
    approve(run_month(OCT))
    row.continuing_education = Decimal("800")
    with pytest.raises(ValidationError) as exc:
        special_deduction_save(deduction=row, acting_user=county_admin)
    assert "2026-10" in exc.value.message_dict["month"][0]


def test_a_township_admin_cannot_enter_deductions_for_another_townships_doctor(policies, roles, client):
    mine, theirs = FacilityFactory(), FacilityFactory()
    my_doctor = PostingFactory(facility=mine).doctor
    their_doctor = PostingFactory(facility=theirs).doctor
    officer = make_user(Role.TOWNSHIP_ADMIN, township=mine.township)
    special_deduction_save(deduction=SpecialDeduction(doctor=my_doctor, month=OCT, elderly_care=Decimal("1000")), acting_user=officer)
    with pytest.raises(ValidationError) as exc:
        special_deduction_save(deduction=SpecialDeduction(doctor=their_doctor, month=OCT, elderly_care=Decimal("1000")), acting_user=officer)
    assert exc.value.error_dict["doctor"][0].code == "out_of_reach"
    theirs_row = deduction(their_doctor, month=NOV, elderly_care=Decimal("500"))
    client.force_login(officer)
    listing = client.get(reverse("admin:payroll_specialdeduction_changelist")).content.decode()
    assert my_doctor.name in listing and their_doctor.name not in listing
    assert client.get(reverse("admin:payroll_specialdeduction_change", args=[theirs_row.pk])).status_code in (302, 404)
    # In the admin a township admin reads the township's rows (payroll is view-only for the role).
    response = client.post(reverse("admin:payroll_specialdeduction_add"), {
        "doctor": their_doctor.pk, "month": "2026-12-01", "children_education": "0", "continuing_education": "0", "mortgage_interest": "0",
        "housing_rent": "0", "elderly_care": "3000", "infant_care": "0", "personal_pension": "0"})
    assert response.status_code == 403 and not SpecialDeduction.objects.filter(doctor=their_doctor, month=datetime.date(2026, 12, 1)).exists()
    # And the import rejects the row.
    data = sheet([[their_doctor.id_number, their_doctor.name, "2026-12", "0", "3000"]])
    report = special_deductions_import(upload=data, filename="d.xlsx", acting_user=officer)
    assert [n for n, _r in report.rejected] == [2] and not report.imported


HEADER = ["证件号码", "姓名", "所属月份", "子女教育", "赡养老人"]


def sheet(rows, header=HEADER):
    return xlsx_bytes(header, rows)


def test_the_import_is_all_or_nothing_and_keeps_rejected_rows(policies, county_admin):
    a, b = PostingFactory().doctor, PostingFactory().doctor
    data = sheet([
        [a.id_number, a.name, "2026-10", "2000", "3000"],
        [b.id_number, b.name, "2026-10", "-5", "0"],             # negative
        ["451028198506150000", "某人", "2026-10", "0", "0"],      # invalid ID number
        [b.id_number, "别人", "2026-10", "0", "0"],               # name does not match
        [a.id_number, a.name, "2026-13", "0", "0"],               # bad month
        [a.id_number, a.name, "2026-10", "1000", "0"],            # repeats row 2
    ])
    report = special_deductions_import(upload=data, filename="deductions.xlsx", acting_user=county_admin)
    assert [number for number, _reason in report.rejected] == [3, 4, 5, 6, 7]
    assert all(reason for _n, reason in report.rejected)
    assert "2" in dict(report.rejected)[7]
    assert not SpecialDeduction.objects.exists() and report.imported == 0
    good = sheet([[a.id_number, a.name, "2026-10", "2000", "3000"], [b.id_number, "", "2026年10月", "", "1500.5"]])
    report = special_deductions_import(upload=good, filename="deductions.xlsx", acting_user=county_admin)
    assert report.ok and (report.created, report.imported) == (2, 2)
    row = SpecialDeduction.objects.get(doctor=b)
    assert (row.month, row.elderly_care, row.children_education, row.source) == (OCT, Decimal("1500.50"), Decimal("0"), "imported")
    assert AuditEntry.objects.filter(action="special_deduction.create").count() == 2
    # Mortgage and rent together are refused; an unchanged second import updates in place.
    both = sheet([[a.id_number, a.name, "2026-11", "1000", "800"]], header=["证件号码", "姓名", "所属月份", "住房贷款利息", "住房租金"])
    report = special_deductions_import(upload=both, filename="d.xlsx", acting_user=county_admin)
    assert [n for n, _r in report.rejected] == [2]
    report = special_deductions_import(upload=good, filename="deductions.xlsx", acting_user=county_admin)
    assert (report.created, report.updated) == (0, 2)


def test_the_import_page_lists_rejected_rows(policies, county_admin, client):
    a = PostingFactory().doctor
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(county_admin)
    upload = SimpleUploadedFile("d.csv", ("\ufeff证件号码,姓名,所属月份,子女教育\n" f"{a.id_number},{a.name},2026-10,abc\n").encode())
    page = client.post(reverse("admin:payroll_specialdeduction_import"), {"file": upload}).content.decode()
    assert 'data-row="2"' in page and not SpecialDeduction.objects.exists()
    upload = SimpleUploadedFile("d.csv", ("证件号码,姓名,所属月份,子女教育\n" f"{a.id_number},{a.name},2026-10,2000\n").encode())
    assert client.post(reverse("admin:payroll_specialdeduction_import"), {"file": upload}).status_code == 302
    assert SpecialDeduction.objects.get(doctor=a).children_education == Decimal("2000")


def test_the_deduction_changelist_queries_stay_flat(policies, county_admin, client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(county_admin)
    url = reverse("admin:payroll_specialdeduction_changelist")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    deduction(PostingFactory().doctor, elderly_care=Decimal("1"))
    few = count()
    for _ in range(15):
        deduction(PostingFactory().doctor, elderly_care=Decimal("1"))
    assert count() == few


def test_hostile_amounts_and_date_cells_in_the_import(policies, county_admin):
    """An absurd amount ("1E+30") is a rejected row, not an error page; a month given as a real
    date cell (openpyxl reads a datetime) is its month."""
    a = PostingFactory().doctor
    report = special_deductions_import(upload=sheet([[a.id_number, a.name, "2026-10", "1E+30", "0"]]), filename="d.xlsx",
                                       acting_user=county_admin)
    assert [n for n, _r in report.rejected] == [2] and not SpecialDeduction.objects.exists()
    report = special_deductions_import(upload=sheet([[a.id_number, a.name, datetime.datetime(2026, 10, 1), "2000", "0"]]),
                                       filename="d.xlsx", acting_user=county_admin)
    assert report.ok, report.rejected
    assert SpecialDeduction.objects.get(doctor=a).month == OCT


def test_the_import_does_not_tell_a_township_admin_whose_id_number_it_is(policies, roles):
    from clinics.models import Role
    from tests.factories import make_user

    mine, theirs = PostingFactory(), PostingFactory()
    officer = make_user(Role.TOWNSHIP_ADMIN, township=mine.facility.township)
    unknown = "110101199003070011"
    rows = [[theirs.doctor.id_number, theirs.doctor.name, "2026-10", "0", "1000"], [unknown, "某人", "2026-10", "0", "1000"]]
    report = special_deductions_import(upload=sheet(rows), filename="d.xlsx", acting_user=officer)
    reasons = dict(report.rejected)
    assert set(reasons) == {2, 3} and reasons[2] == reasons[3]


def test_an_import_keeps_what_its_file_does_not_say(policies, county_admin):
    """An absent column or an empty cell keeps the stored amount; 清空 sets it to 0."""
    a = PostingFactory().doctor
    assert special_deductions_import(upload=sheet([[a.id_number, a.name, "2026-10", "2000", "3000"]]), filename="d.xlsx",
                                     acting_user=county_admin).ok
    only_elderly = sheet([[a.id_number, a.name, "2026-10", "1000"]], header=["证件号码", "姓名", "所属月份", "赡养老人"])
    assert special_deductions_import(upload=only_elderly, filename="d.xlsx", acting_user=county_admin).ok
    row = SpecialDeduction.objects.get(doctor=a)
    assert (row.children_education, row.elderly_care) == (Decimal("2000.00"), Decimal("1000.00"))
    cleared = sheet([[a.id_number, a.name, "2026-10", "清空", ""]])
    assert special_deductions_import(upload=cleared, filename="d.xlsx", acting_user=county_admin).ok
    row.refresh_from_db()
    assert (row.children_education, row.elderly_care) == (Decimal("0.00"), Decimal("1000.00"))
