"""Bank file formats, paying banks and payments outside the file in the admin; the pay run's
download (immediate, or a job for a large run); reach; flat query counts."""

import io
import zipfile
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinics.models import Role
from core import jobs as core_jobs
from core.models import AuditEntry, Job
from staffing.models import Doctor
from staffing.payroll.bankfiles.render import Payee, Spec, render_files
from staffing.payroll.models import BankFileColumn, BankFileFormat, PayingBank, PaymentOutsideFile
from tests.factories import make_user
from tests.payroll.bankfiles.conftest import OCT, calculated_october

pytestmark = pytest.mark.django_db


def _format_post(columns, summary=(), **fields):
    data = {"code": "GXRCB", "name": "广西农信 代发模板", "file_type": "fixed", "encoding": "gbk", "line_ending": "crlf",
            "delimiter": "", "quote_char": "", "sheet_name": "", "first_data_row": "0", "amount_unit": "yuan",
            "amount_decimals": "2", "max_records": "3000", "file_extension": "", "notes": "",
            "columns-TOTAL_FORMS": str(len(columns)), "columns-INITIAL_FORMS": "0",
            "summary_fields-TOTAL_FORMS": str(len(summary)), "summary_fields-INITIAL_FORMS": "0"}
    data.update(fields)
    for i, column in enumerate(columns):
        for key, value in column.items():
            data[f"columns-{i}-{key}"] = value
    for i, item in enumerate(summary):
        for key, value in item.items():
            data[f"summary_fields-{i}-{key}"] = value
    return data


def _column(position, field, width="", title="", align="left", fill=" ", value=""):
    return {"position": str(position), "field": field, "title": title, "width": str(width), "align": align, "fill": fill, "value": value}


def test_the_officer_adds_a_fixed_width_format_validated_with_messages(demo, county_admin, client):
    client.force_login(county_admin)
    url = reverse("admin:payroll_bankfileformat_add")
    no_widths = _format_post([_column(1, "name"), _column(2, "account"), _column(3, "amount")])
    response = client.post(url, no_widths)
    assert response.status_code == 200 and not BankFileFormat.objects.filter(code="GXRCB").exists()
    errors = response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert errors and "1、2、3" in errors[0]  # the positions without a width are named
    no_account = _format_post([_column(1, "name", 40), _column(2, "amount", 15)])
    response = client.post(url, no_account)
    assert response.status_code == 200 and not BankFileFormat.objects.filter(code="GXRCB").exists()
    delimited_without_delimiter = _format_post([_column(1, "name"), _column(2, "account"), _column(3, "amount")], file_type="delimited")
    response = client.post(url, delimited_without_delimiter)
    assert response.status_code == 200 and response.context["adminform"].form.errors
    good = _format_post(
        [_column(1, "sequence", 6, align="right", fill="0"), _column(2, "account", 32), _column(3, "name", 40),
         _column(4, "amount", 15, align="right", fill="0")],
        summary=[{"part": "header", "position": "1", "kind": "record_count", "cell": "", "width": "6", "align": "right", "fill": "0", "value": ""},
                 {"part": "header", "position": "2", "kind": "total_amount", "cell": "", "width": "15", "align": "right", "fill": "0", "value": ""}],
        amount_unit="fen",
    )
    response = client.post(url, good)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    created = BankFileFormat.objects.get(code="GXRCB")
    assert list(created.columns.values_list("field", "width")) == [("sequence", 6), ("account", 32), ("name", 40), ("amount", 15)]
    assert AuditEntry.objects.filter(action="bankformat.create", object_id=str(created.pk), actor=county_admin).exists()
    # The new format writes what it says: header "count total-in-fen", zero-padded, CR LF.
    spec = Spec.of(created)
    payees = [Payee(payslip_id=1, doctor_id=1, name="韦医生", clinic="x", account="6230000000000000001", amount=Decimal("1234.56"))]
    (rendered,) = render_files(spec, payees, stem="t", month=OCT, today=OCT)
    header, line, end = rendered.content.split(b"\r\n")
    assert header == b"000001" + b"000000000123456" and end == b""
    assert line == b"000001" + b"6230000000000000001".ljust(32) + "韦医生".encode("gbk").ljust(40) + b"000000000123456"
    # Assigned to the paying bank in place of the generic sheet.
    bank = PayingBank.objects.get(bank_name="广西农村信用社")
    change = reverse("admin:payroll_payingbank_change", args=[bank.pk])
    response = client.post(change, {"bank_name": bank.bank_name, "file_format": created.pk, "branch_code": "402611000018",
                                    "purpose": "{year}年{month}月村医报酬", "notes": ""})
    assert response.status_code == 302 and PayingBank.objects.get(pk=bank.pk).file_format == created
    response = client.post(change, {"bank_name": bank.bank_name, "file_format": created.pk, "branch_code": "",
                                    "purpose": "{year}年{day}日", "notes": ""}, follow=True)
    assert PayingBank.objects.get(pk=bank.pk).purpose == "{year}年{month}月村医报酬"  # {day} refused


def test_township_users_read_formats_and_paying_banks_but_cannot_change_them(demo, roles, client):
    from clinics.models import Township

    admin = make_user(Role.TOWNSHIP_ADMIN, township=Township.objects.order_by("code").first())
    client.force_login(admin)
    assert client.get(reverse("admin:payroll_bankfileformat_changelist")).status_code == 200
    assert client.get(reverse("admin:payroll_payingbank_changelist")).status_code == 200
    assert client.get(reverse("admin:payroll_bankfileformat_add")).status_code == 403
    bank = PayingBank.objects.get(bank_name="中国农业银行")
    response = client.post(reverse("admin:payroll_payingbank_change", args=[bank.pk]),
                           {"bank_name": bank.bank_name, "file_format": "", "branch_code": "", "purpose": "", "notes": ""})
    assert response.status_code == 403 and PayingBank.objects.get(pk=bank.pk).file_format_id == bank.file_format_id


def test_admin_download_of_an_approved_run_and_its_reach(october, county_admin, roles, client):
    client.force_login(county_admin)
    response = client.get(reverse("admin:payroll_payrun_bank_files", args=[october.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "2026-10_ABC_中国农业银行.txt" in names and len(names) == 4
    page = client.get(reverse("admin:payroll_payrun_change", args=[october.pk])).content.decode()
    assert reverse("admin:payroll_payrun_bank_files", args=[october.pk]) in page
    action = client.post(reverse("admin:payroll_payrun_changelist"), {"action": "export_bank_files", "_selected_action": [october.pk]})
    assert action["Content-Type"] == "application/zip"
    from clinics.models import Township

    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=Township.objects.order_by("code").first())
    client.force_login(township_admin)  # a county-wide run holds every township's pay
    assert client.get(reverse("admin:payroll_payrun_bank_files", args=[october.pk])).status_code == 404


def test_a_large_run_is_exported_by_a_job_that_keeps_the_zip(october, county_admin, client, settings):
    settings.PAYROLL_JOB_THRESHOLD = 100
    client.force_login(county_admin)
    response = client.get(reverse("admin:payroll_payrun_bank_files", args=[october.pk]))
    job = Job.objects.get(kind="payroll.bank_files")
    assert response.status_code == 302 and response["Location"] == reverse("operations:job-detail", args=[job.pk])
    core_jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.file_name == "bank-files-2026-10.zip" and job.file_content_type == "application/zip"
    with job.file.open("rb") as stored:
        names = zipfile.ZipFile(io.BytesIO(stored.read())).namelist()
    assert len(names) == 4 and job.result["records"] == october.doctor_count


def test_marking_paid_outside_the_file_in_admin(demo, county_admin, client):
    doctor = Doctor.objects.filter(bank_name="中国农业银行").order_by("pk").first()
    Doctor.objects.filter(pk=doctor.pk).update(bank_account="")
    run = calculated_october()
    client.force_login(county_admin)
    add = reverse("admin:payroll_paymentoutsidefile_add")
    form = client.get(add, {"run": run.pk, "doctor": doctor.pk})
    assert form.status_code == 200 and form.context["adminform"].form.initial["run"] == str(run.pk)
    response = client.post(add, {"run": run.pk, "doctor": doctor.pk, "reason": "现金发放"})
    assert response.status_code == 302
    mark = PaymentOutsideFile.objects.get(run=run, doctor=doctor)
    assert mark.marked_by == county_admin and mark.reason == "现金发放"
    response = client.post(reverse("admin:payroll_paymentoutsidefile_delete", args=[mark.pk]), {"post": "yes"})
    assert response.status_code == 302 and not PaymentOutsideFile.objects.exists()
    assert AuditEntry.objects.filter(action="payslip.paid_outside_file_undo").exists()


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_the_bank_admin_lists_take_the_same_queries_however_many_rows(demo, county_admin, client):
    client.force_login(county_admin)
    run = calculated_october()
    doctors = list(Doctor.objects.order_by("pk")[:30])
    lists = [reverse("admin:payroll_bankfileformat_changelist"), reverse("admin:payroll_payingbank_changelist"),
             reverse("admin:payroll_paymentoutsidefile_changelist")]
    PaymentOutsideFile.objects.create(run=run, doctor=doctors[0], reason="一", marked_by=county_admin)
    few = [_count_queries(client, url) for url in lists]
    spec = BankFileFormat.objects.get(code="ICBC")
    for n in range(20):
        extra = BankFileFormat.objects.create(code=f"X{n}", name=f"格式{n}", file_type="xlsx", title_row=True)
        BankFileColumn.objects.create(file_format=extra, position=1, field="account")
        PayingBank.objects.create(bank_name=f"测试银行{n}", file_format=extra if n % 2 else spec)
    for doctor in doctors[1:]:
        PaymentOutsideFile.objects.create(run=run, doctor=doctor, reason="多", marked_by=county_admin)
    many = [_count_queries(client, url) for url in lists]
    assert many == few


def test_a_township_admin_exports_only_his_townships_run(policies, visits, roles, client, settings):
    from staffing.payroll import services
    from staffing.payroll.bankfiles.selectors import exportable_runs
    from tests.factories import clinic_with_doctors

    settings.PAYROLL_RUN_SCOPE = "township"
    here, _ = clinic_with_doctors(2)
    there, _ = clinic_with_doctors(2)
    runs = {}
    for clinic in (here, there):
        run = services.payrun_create(month=OCT, township=clinic.township, acting_user=None)
        runs[clinic.pk] = services.payrun_approve(run=services.payrun_calculate(run=run, acting_user=None), acting_user=None,
                                                  acknowledge_warnings=True)
    admin = make_user(Role.TOWNSHIP_ADMIN, township=here.township)
    assert exportable_runs(month=OCT, user=admin) == [runs[here.pk]]
    assert len(exportable_runs(month=OCT, county=True)) == 2
    client.force_login(admin)
    mine = client.get(reverse("admin:payroll_payrun_bank_files", args=[runs[here.pk].pk]))
    assert mine.status_code == 200 and mine["Content-Type"] == "application/zip"
    assert client.get(reverse("admin:payroll_payrun_bank_files", args=[runs[there.pk].pk])).status_code == 404
