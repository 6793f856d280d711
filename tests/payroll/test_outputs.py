"""Outputs: bank file, summary, PDFs, admin actions and exports, and the run_payroll command."""

import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from core.models import AuditEntry
from staffing.payroll import exports
from staffing.payroll.models import PayRun, Payslip
from tests.factories import clinic_with_doctors
from tests.payroll.conftest import OCT, approve, run_month

pytestmark = pytest.mark.django_db


@pytest.fixture
def october(policies, visits):
    clinic_with_doctors(2)
    clinic_with_doctors(2)
    Payslip  # noqa: B018
    return approve(run_month(OCT))


def test_bank_files_total_equals_the_run_total(october):
    """The bank files themselves are tested in tests/payroll/bankfiles; here: they pay the run."""
    from staffing.payroll.bankfiles.services import bank_export_build

    export = bank_export_build(runs=[october], acting_user=None)
    assert sum(f.records for f in export.files) == 4
    assert sum(f.total for f in export.files) == october.net_total


def test_summary_by_township_clinic_and_component(october):
    headers, rows = exports.summary_rows(october)
    assert headers[:4] == ["乡镇", "卫生室", "卫生室编码", "医生数"] and "县级定额补助" in headers
    assert [r[1] for r in rows].count("乡镇小计") == 2
    grand = rows[-1]
    assert grand[0] == "合计" and grand[3] == 4 and Decimal(grand[-1]) == october.net_total
    workbook = load_workbook(io.BytesIO(exports.summary_xlsx(october)))
    sheet = workbook.active
    assert sheet.title == "2026-10" and sheet.cell(1, 1).value == "乡镇"
    assert Decimal(str(sheet.cell(sheet.max_row, sheet.max_column).value)) == october.net_total


def test_payslip_pdfs_one_file_or_a_zip(october):
    slips = exports.payslips_queryset(october)
    pdf = exports.payslips_pdf(slips)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page\r") + pdf.count(b"/Type /Page ") >= 0
    archive = zipfile.ZipFile(io.BytesIO(exports.payslips_zip(slips)))
    assert len(archive.namelist()) == 4 and all(n.endswith(".pdf") for n in archive.namelist())
    assert exports.pdf_font() in ("CunyiCJK", "STSong-Light")


def test_admin_approval_asks_for_confirmation_and_exports_are_audited(policies, visits, county_admin, client):
    clinic_with_doctors(2)
    run = run_month(OCT)
    client.force_login(county_admin)
    confirm = client.get(reverse("admin:payroll_payrun_approve", args=[run.pk]))
    assert "审批后该批次的工资条不能再修改" in confirm.content.decode()
    assert PayRun.objects.get(pk=run.pk).status == "calculated"
    client.post(reverse("admin:payroll_payrun_approve", args=[run.pk]), {"confirm": "yes"})
    assert PayRun.objects.get(pk=run.pk).status == "approved"
    change = client.get(reverse("admin:payroll_payrun_change", args=[run.pk]))
    assert change.status_code == 200 and reverse("admin:payroll_payrun_bank_files", args=[run.pk]) in change.content.decode()
    bank = client.get(reverse("admin:payroll_payrun_bank_files", args=[run.pk]))
    assert bank["Content-Disposition"].endswith('bank-files-2026-10.zip"')
    assert AuditEntry.objects.filter(action="payrun.export.bank_files").exists()
    asked = client.post(reverse("admin:payroll_payrun_changelist"), {"action": "mark_paid", "_selected_action": [run.pk]})
    assert asked.status_code == 200 and PayRun.objects.get(pk=run.pk).status == "approved"  # the confirmation page first
    response = client.post(reverse("admin:payroll_payrun_changelist"), {"action": "mark_paid", "_selected_action": [run.pk], "confirm": "yes"})
    assert response.status_code == 302 and PayRun.objects.get(pk=run.pk).status == "paid"
    slip = Payslip.objects.filter(run=run).first()
    assert client.get(reverse("admin:payroll_payslip_pdf", args=[slip.pk])).content.startswith(b"%PDF")
    ytd = client.get(reverse("admin:payroll_payslip_ytd", args=[slip.doctor_id, 2026])).content.decode()
    assert "2026-10" in ytd and f"{slip.net:,.2f}" in ytd


def test_run_payroll_command_creates_and_calculates(policies, visits):
    clinic_with_doctors(2)
    out = io.StringIO()
    call_command("run_payroll", "--month", "2026-10", stdout=out)
    run = PayRun.objects.get(month=OCT)
    assert run.status == "calculated" and run.doctor_count == 2
    assert f"net {run.net_total}" in out.getvalue()
    call_command("run_payroll", "--month", "2026-10", stdout=io.StringIO())
    assert Payslip.objects.filter(run=run).count() == 2
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("run_payroll", "--month", "October")


def test_township_runs_when_configured(policies, visits, settings):
    settings.PAYROLL_RUN_SCOPE = "township"
    first, _ = clinic_with_doctors(2)
    second, _ = clinic_with_doctors(2)
    call_command("run_payroll", "--month", "2026-10", stdout=io.StringIO())
    runs = {run.township_id: run for run in PayRun.objects.filter(month=OCT)}
    assert set(runs) == {first.township_id, second.township_id}
    assert all(run.doctor_count == 2 for run in runs.values())
    assert set(Payslip.objects.filter(run=runs[first.township_id]).values_list("facility_id", flat=True)) == {first.pk}
    from django.core.exceptions import ValidationError

    from staffing.payroll import services

    with pytest.raises(ValidationError) as exc:
        services.payrun_create(month=datetime.date(2026, 11, 1), acting_user=None)
    assert "乡镇" in exc.value.messages[0]
