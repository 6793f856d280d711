"""The monthly tax filing, read back with openpyxl: the exact header rows (written out literally
here), text ID cells, numeric amounts, one row per paid doctor with zero tax included, the
insurance split, the bonus and personnel sheets, the command's contract and its Chinese errors,
and the admin download (a job for a large run)."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import load_workbook

from core.models import AuditEntry
from staffing.payroll.models import InsuranceScheme, OneOffItem, PayProfile, Payslip, SpecialDeduction
from staffing.payroll.tax.deductions import special_deduction_save
from tests.factories import PostingFactory, clinic_with_doctors
from tests.payroll.conftest import NOV, OCT, approve, run_month

pytestmark = pytest.mark.django_db

WAGE_HEADERS = ["工号", "*姓名", "*证件类型", "*证件号码", "本期收入", "本期免税收入", "基本养老保险费", "基本医疗保险费", "失业保险费",
                "住房公积金", "累计子女教育", "累计继续教育", "累计住房贷款利息", "累计住房租金", "累计赡养老人", "累计3岁以下婴幼儿照护",
                "累计个人养老金", "企业(职业)年金", "商业健康保险", "税延养老保险", "其他", "准予扣除的捐赠额", "减免税额", "备注"]
BONUS_HEADERS = ["工号", "*姓名", "*证件类型", "*证件号码", "*全年一次性奖金额", "免税收入", "其他", "准予扣除的捐赠额", "减免税额", "备注"]
PEOPLE_HEADERS = ["工号", "*姓名", "*证件类型", "*证件号码", "*国籍(地区)", "*性别", "*出生日期", "是否高级专家", "*任职受雇从业类型",
                  "其他情况说明", "入职年度就业情形", "手机号码", "任职受雇从业日期", "离职日期", "是否离职后补发工资", "实际补发工资的月份",
                  "是否残疾", "是否烈属", "是否孤老", "残疾证件类型", "残疾证号", "烈属证号", "是否扣除减除费用", "个人投资额", "个人投资比例(%)",
                  "备注", "中文名", "涉税事由", "出生国家(地区)", "首次入境时间", "预计离境时间", "其他证件类型", "其他证件号码",
                  "户籍所在地（省）", "户籍所在地（市）", "户籍所在地（区县）", "户籍所在地（详细地址）", "经常居住地（省）", "经常居住地（市）",
                  "经常居住地（区县）", "经常居住地（详细地址）", "联系地址（省）", "联系地址（市）", "联系地址（区县）", "联系地址（详细地址）",
                  "电子邮箱", "学历", "开户银行", "银行账号", "开户行省份", "职务"]


def export(tmp_path, month="2026-10"):
    out = tmp_path / "filing.xlsx"
    call_command("export_tax_filing", "--month", month, "--out", str(out))
    return load_workbook(out)


def rows_by_id(sheet):
    header = [c.value for c in sheet[1]]
    return {row[3].value: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)}


@pytest.fixture
def october(policies, visits):
    """Three doctors: one with zero tax, one taxed with a separately taxed bonus and deductions,
    one on the employee scheme hired in October."""
    clinic, (plain, rich) = clinic_with_doctors(2)
    hired = PostingFactory(facility=clinic, doctor__hire_date=datetime.date(2026, 10, 12), doctor__sex="F").doctor
    employee = InsuranceScheme.objects.get(code="employee")
    PayProfile.objects.create(doctor=hired, scheme=employee)
    OneOffItem.objects.create(doctor=rich, month=OCT, kind="back_pay", amount=Decimal("150000"), description="补发")
    OneOffItem.objects.create(doctor=rich, month=OCT, kind="bonus", amount=Decimal("36000"), description="年终奖")
    special_deduction_save(deduction=SpecialDeduction(doctor=rich, month=datetime.date(2026, 9, 1), children_education=Decimal("2000")),
                           acting_user=None)
    special_deduction_save(deduction=SpecialDeduction(doctor=rich, month=OCT, children_education=Decimal("2000"),
                                                      personal_pension=Decimal("1000")), acting_user=None)
    run = approve(run_month(OCT))
    return run, plain, rich, hired


def test_the_workbook_has_the_templates_exact_headers_and_one_row_per_paid_person(october, tmp_path):
    run, plain, rich, hired = october
    book = export(tmp_path)
    assert book.sheetnames == ["正常工资薪金收入", "全年一次性奖金收入", "人员信息采集"]
    wages = book["正常工资薪金收入"]
    assert [c.value for c in wages[1]] == WAGE_HEADERS
    assert [c.value for c in book["全年一次性奖金收入"][1]] == BONUS_HEADERS
    assert [c.value for c in book["人员信息采集"][1]] == PEOPLE_HEADERS
    rows = rows_by_id(wages)
    assert set(rows) == {plain.id_number, rich.id_number, hired.id_number} == set(
        Payslip.objects.filter(run=run).values_list("doctor__id_number", flat=True))
    zero = rows[plain.id_number]
    assert Payslip.objects.get(run=run, doctor=plain).income_tax == 0  # zero tax, filed all the same
    assert zero["*证件号码"].data_type == "s" and zero["*证件号码"].number_format == "@" and zero["工号"].data_type == "s"
    assert zero["*证件类型"].value == "居民身份证" and zero["*姓名"].value == plain.name
    for header in WAGE_HEADERS[4:23]:
        assert zero[header].data_type == "n" and isinstance(zero[header].value, (int, float)), header
    assert zero["本期收入"].value == 3100 and zero["基本养老保险费"].value == 200  # resident scheme: all pension
    assert (zero["基本医疗保险费"].value, zero["失业保险费"].value, zero["累计子女教育"].value) == (0, 0, 0)
    # The separately taxed bonus is not in the wage income; the year's deductions are cumulative.
    high = rows[rich.id_number]
    assert high["本期收入"].value == 153100 and high["累计子女教育"].value == 4000 and high["累计个人养老金"].value == 1000
    # Employee scheme on a base of 3,500: 367.50 = 280.00 pension + 70.00 medical + 17.50 unemployment.
    part = rows[hired.id_number]
    slip = Payslip.objects.get(run=run, doctor=hired)
    assert slip.social_insurance == Decimal("367.50")
    assert (part["基本养老保险费"].value, part["基本医疗保险费"].value, part["失业保险费"].value) == (280, 70, 17.5)
    assert part["本期收入"].value == float(slip.taxable_income)


def test_the_bonus_and_personnel_sheets(october, tmp_path):
    _run, plain, rich, hired = october
    book = export(tmp_path)
    bonus_rows = rows_by_id(book["全年一次性奖金收入"])
    assert list(bonus_rows) == [rich.id_number]
    assert bonus_rows[rich.id_number]["*全年一次性奖金额"].value == 36000
    assert bonus_rows[rich.id_number]["*证件号码"].data_type == "s"
    people = rows_by_id(book["人员信息采集"])
    assert list(people) == [hired.id_number]  # the only one hired (or leaving) in October
    row = people[hired.id_number]
    assert row["*国籍(地区)"].value == "中国" and row["*性别"].value == "女" and row["*任职受雇从业类型"].value == "雇员"
    assert row["*出生日期"].value == hired.birth_date.isoformat() and row["任职受雇从业日期"].value == "2026-10-12"
    assert row["银行账号"].value == hired.bank_account and row["银行账号"].data_type == "s" and row["手机号码"].value == hired.mobile
    assert row["离职日期"].value is None


def test_no_bonus_sheet_without_a_separate_bonus_and_a_leaver_is_listed(policies, visits, tmp_path):
    clinic, (staying, leaving) = clinic_with_doctors(2)
    leaving.exit_date = datetime.date(2026, 10, 20)
    leaving.save()
    leaving.postings.update(end_date=datetime.date(2026, 10, 20))
    approve(run_month(OCT))
    book = export(tmp_path)
    assert book.sheetnames == ["正常工资薪金收入", "人员信息采集"]
    assert len(rows_by_id(book["正常工资薪金收入"])) == 2
    people = rows_by_id(book["人员信息采集"])
    assert list(people) == [leaving.id_number] and people[leaving.id_number]["离职日期"].value == "2026-10-20"


def test_cells_cannot_run_as_formulas(policies, visits, tmp_path):
    clinic, (doctor, _other) = clinic_with_doctors(2)
    type(doctor).objects.filter(pk=doctor.pk).update(name="=HYPERLINK(\"http://x\")", hire_date=OCT)
    doctor.postings.update(start_date=OCT)
    approve(run_month(OCT))
    book = export(tmp_path)
    for sheet in ("正常工资薪金收入", "人员信息采集"):
        cell = rows_by_id(book[sheet])[doctor.id_number]["*姓名"]
        assert cell.value.startswith("'=") and cell.data_type == "s"


def test_the_command_refuses_a_bad_month_and_a_month_without_an_approved_run(policies, visits, tmp_path):
    clinic_with_doctors(2)
    for bad in ("2026-13", "202610", "10-2026", "2026-1"):
        with pytest.raises(CommandError, match="YYYY-MM"):
            call_command("export_tax_filing", "--month", bad, "--out", str(tmp_path / "x.xlsx"))
    run_month(OCT)  # calculated, not approved
    with pytest.raises(CommandError) as exc:
        call_command("export_tax_filing", "--month", "2026-10", "--out", str(tmp_path / "x.xlsx"))
    assert "2026-10" in str(exc.value)
    assert not (tmp_path / "x.xlsx").exists()
    with pytest.raises(CommandError):
        call_command("export_tax_filing", "--month", "2026-10", "--out", str(tmp_path / "x.csv"))


def test_the_admin_downloads_the_filing_from_the_run_and_records_it(october, county_admin, client):
    run, *_ = october
    client.force_login(county_admin)
    page = client.get(reverse("admin:payroll_payrun_change", args=[run.pk])).content.decode()
    url = reverse("admin:payroll_payrun_tax_filing", args=[run.pk])
    assert url in page
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert [c.value for c in book["正常工资薪金收入"][1]] == WAGE_HEADERS and len(rows_by_id(book["正常工资薪金收入"])) == 3
    assert AuditEntry.objects.filter(action="payrun.export", object_id=str(run.pk), changes__kind="tax-filing").exists()


def test_a_township_admin_files_only_the_townships_payslips(policies, visits, roles, client):
    from clinics.models import Role
    from tests.factories import FacilityFactory, make_user

    mine, theirs = FacilityFactory(), FacilityFactory()
    PostingFactory(facility=mine)
    PostingFactory(facility=theirs)
    run = approve(run_month(OCT))
    from staffing.payroll.tax.filing import tax_filing_build

    assert len(tax_filing_build(month=OCT).people) == 2
    assert len(tax_filing_build(month=OCT, township_id=mine.township_id).people) == 1
    officer = make_user(Role.TOWNSHIP_ADMIN, township=mine.township)
    client.force_login(officer)
    # The county-wide run is not the township admin's to open (its files hold every township).
    assert client.get(reverse("admin:payroll_payrun_tax_filing", args=[run.pk])).status_code == 404


def test_a_large_run_files_through_a_job(october, county_admin, client, settings):
    run, *_ = october
    settings.PAYROLL_JOB_THRESHOLD = 2
    client.force_login(county_admin)
    response = client.get(reverse("admin:payroll_payrun_tax_filing", args=[run.pk]))
    assert response.status_code == 302
    from core.models import Job

    job = Job.objects.get(kind="payroll.tax_filing")
    assert job.params == {"month": "2026-10-01", "township_id": None, "by": county_admin.pk}
    from core.jobs import run_job

    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert job.file_name.endswith(".xlsx") and job.result["people"] == 3
    # The starter downloads it; another county admin neither gets this file nor shares the job.
    from clinics.models import Role
    from tests.factories import make_user

    assert client.get(reverse("operations:job-file", args=[job.pk])).status_code == 200
    other = make_user(Role.COUNTY_ADMIN)
    client.force_login(other)
    assert client.get(reverse("operations:job-file", args=[job.pk])).status_code == 404
    client.get(reverse("admin:payroll_payrun_tax_filing", args=[run.pk]))
    assert Job.objects.filter(kind="payroll.tax_filing").count() == 2


def test_the_filing_reads_a_fixed_number_of_queries(policies, visits, django_assert_max_num_queries):
    from staffing.payroll.tax.filing import tax_filing_build

    clinic_with_doctors(2)
    approve(run_month(OCT))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        tax_filing_build(month=OCT)
    for _ in range(5):
        clinic_with_doctors(3)
    approve(run_month(NOV))
    with CaptureQueriesContext(connection) as many:
        assert len(tax_filing_build(month=NOV).people) == 17
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_filing_job_files_a_month_of_township_runs_for_a_county_user_and_refuses_other_reach(policies, visits, county_admin, roles,
                                                                                                settings):
    """A month paid by township runs only: the county admin's job files it whole; a township
    admin's job for the whole county (or another township) is refused when it runs."""
    from clinics.models import Role
    from core.jobs import run_job
    from core.models import Job
    from staffing.payroll.tax import jobs as tax_jobs
    from tests.factories import make_user

    settings.PAYROLL_RUN_SCOPE = "township"
    clinic, _doctors = clinic_with_doctors(2)
    approve(run_month(OCT, township=clinic.township))
    job = tax_jobs.start_export(month=OCT, township_id=None, user=county_admin)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["people"] == 2
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=clinic.township)
    whole_county = tax_jobs.start_export(month=OCT, township_id=None, user=township_admin)
    run_job(whole_county.pk)
    whole_county.refresh_from_db()
    assert whole_county.status == Job.Status.FAILED and not whole_county.file_name
    own = tax_jobs.start_export(month=OCT, township_id=clinic.township_id, user=township_admin)
    run_job(own.pk)
    own.refresh_from_db()
    assert own.status == Job.Status.SUCCEEDED, own.error
