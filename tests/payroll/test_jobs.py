"""The pay run's calculation and approval as jobs (staffing.payroll.jobs): a run over
PAYROLL_JOB_THRESHOLD doctors is calculated / approved from the admin by a job on a worker (eager
here), with progress, the same payslips as the immediate path, one job for two starts, and the
service's refusal in Chinese on the job's page; a smaller run stays immediate."""

import datetime

import pytest
from django.urls import reverse

from core.jobs import run_job
from core.models import Job
from staffing.payroll import jobs, services
from staffing.payroll.models import PayRun, Payslip
from tests.factories import clinic_with_doctors
from tests.payroll.conftest import OCT, approve, publish_roster, run_month

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    from config.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def low_threshold(settings):
    settings.PAYROLL_JOB_THRESHOLD = 2
    settings.JOBS_PROGRESS_INTERVAL_SECONDS = 0


def payslip_totals(run):
    return sorted(
        Payslip.objects.filter(run=run).values_list("doctor_id", "gross", "deductions", "net", "payable_days")
    )


def run_totals(run):
    run.refresh_from_db()
    return run.status, run.doctor_count, run.gross_total, run.deduction_total, run.net_total


def calculate_action(client, run):
    return client.post(
        reverse("admin:payroll_payrun_changelist"), {"action": "calculate", "_selected_action": [run.pk]}
    )


def three_doctors():
    clinic, doctors = clinic_with_doctors(3)
    publish_roster(
        clinic,
        OCT,
        [(doctors[0], datetime.date(2026, 10, 3), "holiday"), (doctors[1], datetime.date(2026, 10, 8), "day")],
    )
    return doctors


def test_a_large_run_is_calculated_by_one_job_with_progress_and_the_same_payslips(
    policies, visits, county_admin, client, eager, low_threshold, django_capture_on_commit_callbacks
):
    three_doctors()
    run = services.payrun_create(month=OCT, township=None, acting_user=county_admin)
    assert jobs.run_doctor_count(run) == 3 and jobs.runs_as_job(run)
    client.force_login(county_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = calculate_action(client, run)
    job = Job.objects.get(kind=jobs.CALCULATE)
    assert response.status_code == 302 and response["Location"] == reverse("operations:job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.started_by == county_admin and job.dedupe_key == f"payrun:{run.pk}:calculate"
    # Two halves: the 3 doctors calculated, then the three writes; the end fills the bar.
    assert (job.done, job.total) == (6, 6)
    assert job.note in ("Saving each line's funding sources", "正在保存各工资项目的资金来源")  # the last step
    by_job = (run_totals(run), payslip_totals(run))
    assert by_job[0][:2] == (PayRun.Status.CALCULATED, 3)
    assert job.result["run_id"] == run.pk and job.result["net_total"] == f"{by_job[0][4]}"

    # The immediate path (the service without progress) gives the same run and payslips.
    services.payrun_calculate(run=run, acting_user=county_admin)
    assert (run_totals(run), payslip_totals(run)) == by_job

    page = client.get(reverse("operations:job-detail", args=[job.pk])).content.decode()
    assert f"{run} 已计算。" in page and str(job.get_status_display()) in page and "6 / 6" in page


def test_progress_counts_the_doctors_and_changes_nothing(policies, visits, county_admin):
    three_doctors()
    plain = run_month(OCT, county_admin)
    before = (run_totals(plain), payslip_totals(plain))
    steps = []
    services.payrun_calculate(
        run=plain, acting_user=county_admin, progress=lambda done, total=None, note="": steps.append((done, total))
    )
    assert (run_totals(plain), payslip_totals(plain)) == before
    # The doctors calculated (1..3 of 6), then the payslips, their lines and the funding rows
    # written (3, 4, 5 of 6): the bar never sits full while work remains.
    assert steps[0] == (0, None) and steps[-1] == (5, 6)
    assert [done for done, total in steps if total] == [1, 2, 3, 3, 4, 5]


def test_a_second_start_while_queued_returns_the_same_job(policies, visits, county_admin, client, low_threshold):
    three_doctors()
    run = services.payrun_create(month=OCT, township=None, acting_user=county_admin)
    client.force_login(county_admin)
    first = calculate_action(client, run)  # no worker here: the job stays queued
    second = calculate_action(client, run)
    job = Job.objects.get(kind=jobs.CALCULATE)
    assert first["Location"] == second["Location"] == reverse("operations:job-detail", args=[job.pk])
    assert job.status == Job.Status.QUEUED
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.DRAFT  # not calculated in the request

    run_job(job.pk)
    assert Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED
    assert run_totals(run)[:2] == (PayRun.Status.CALCULATED, 3)


def test_a_small_run_is_still_calculated_in_the_request(policies, visits, county_admin, client):
    three_doctors()
    run = services.payrun_create(month=OCT, township=None, acting_user=county_admin)
    assert not jobs.runs_as_job(run)  # 3 doctors, the default threshold
    client.force_login(county_admin)
    response = calculate_action(client, run)
    assert response.status_code == 302 and "jobs" not in response["Location"]
    assert not Job.objects.exists()
    assert run_totals(run)[:2] == (PayRun.Status.CALCULATED, 3)


def test_a_refused_calculation_records_the_chinese_reason_on_the_job(
    policies, visits, county_admin, client, eager, low_threshold, django_capture_on_commit_callbacks
):
    three_doctors()
    run = approve(run_month(OCT, county_admin), county_admin)
    client.force_login(county_admin)
    with django_capture_on_commit_callbacks(execute=True):
        calculate_action(client, run)
    job = Job.objects.get(kind=jobs.CALCULATE)
    assert job.status == Job.Status.FAILED
    assert "不能再修改" in job.error
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.APPROVED
    page = client.get(reverse("operations:job-detail", args=[job.pk])).content.decode()
    assert "不能再修改" in page


def test_a_large_run_is_approved_by_a_job_with_its_acknowledgements(
    policies, visits, county_admin, client, eager, low_threshold, django_capture_on_commit_callbacks
):
    three_doctors()
    run = run_month(OCT, county_admin)
    client.force_login(county_admin)
    url = reverse("admin:payroll_payrun_approve", args=[run.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirm": "yes"})
    job = Job.objects.get(kind=jobs.APPROVE)
    assert response["Location"] == reverse("operations:job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.params == {"run_id": run.pk, "acknowledge_warnings": True, "acknowledged_bank_changes": []}
    run.refresh_from_db()
    assert run.status == PayRun.Status.APPROVED and run.approved_by == county_admin
    page = client.get(reverse("operations:job-detail", args=[job.pk])).content.decode()
    # The result as a sentence in the site language with a link to the run, not raw data.
    assert job.result["message"] in page and reverse("admin:payroll_payrun_change", args=[run.pk]) in page
    assert "run_id" not in page

    # A retry of the same job after a takeover finds the run approved and reports it.
    job.status, job.attempts = Job.Status.RUNNING, 2
    assert jobs.approve_job(params=job.params, progress=lambda *a, **k: None, job=job)["run_id"] == run.pk
    # A new approval of an approved run is refused in Chinese.
    again = jobs.start_approval(run=run, user=county_admin, acknowledge_warnings=True, acknowledged_bank_changes=[])
    run_job(again.pk)
    again.refresh_from_db()
    assert again.status == Job.Status.FAILED and "只有已计算的批次可以审批" in again.error


def test_the_approval_job_refuses_unacknowledged_bank_changes_in_chinese(
    policies, visits, county_admin, client, eager, low_threshold, django_capture_on_commit_callbacks
):
    from tests.payroll.test_bank_account_changes import change_account

    doctors = three_doctors()
    change_account(doctors[0], "6222020000009999")
    run = run_month(OCT, county_admin)
    client.force_login(county_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:payroll_payrun_approve", args=[run.pk]), {"confirm": "yes"})
    job = Job.objects.get(kind=jobs.APPROVE)
    assert job.status == Job.Status.FAILED and doctors[0].name in job.error
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.CALCULATED


@pytest.fixture
def private_files(settings, tmp_path):
    settings.PRIVATE_FILES_DIR = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize("kind", ["summary-xlsx", "zip"])
def test_a_large_runs_export_is_a_job_whose_file_only_its_starter_downloads(
    policies, visits, county_admin, client, eager, low_threshold, private_files, django_capture_on_commit_callbacks, kind
):
    from clinics.models import Role
    from core.models import AuditEntry
    from tests.factories import make_user

    three_doctors()
    run = run_month(OCT, county_admin)
    client.force_login(county_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("admin:payroll_payrun_export", args=[run.pk, kind]))
    job = Job.objects.get(kind=jobs.EXPORT)
    assert response.status_code == 302 and response["Location"] == reverse("operations:job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.params == {"run_id": run.pk, "kind": kind, "by": county_admin.pk}
    if kind == "zip":
        assert (job.done, job.total) == (3, 3)  # one PDF per payslip
    download = client.get(reverse("operations:job-file", args=[job.pk]))
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    if kind == "zip":
        import io
        import zipfile

        assert len(zipfile.ZipFile(io.BytesIO(content)).namelist()) == 3
    else:
        import io

        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        assert sheet.max_row >= 4  # header, a clinic, its township's subtotal, the grand total
    # The export is recorded (audited) as an export of the run, by its starter.
    assert AuditEntry.objects.filter(action=f"payrun.export.{kind}", actor=county_admin, object_id=str(run.pk)).exists()

    # Another county admin starting the same export gets a job of his own, not this one's file.
    other = make_user(Role.COUNTY_ADMIN)
    client.force_login(other)
    assert client.get(reverse("operations:job-file", args=[job.pk])).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("admin:payroll_payrun_export", args=[run.pk, kind]))
    assert Job.objects.filter(kind=jobs.EXPORT).count() == 2


def test_a_small_runs_export_stays_immediate(policies, visits, county_admin, client, settings):
    three_doctors()
    run = run_month(OCT, county_admin)
    settings.PAYROLL_JOB_THRESHOLD = 200
    client.force_login(county_admin)
    response = client.get(reverse("admin:payroll_payrun_export", args=[run.pk, "summary-csv"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert not Job.objects.filter(kind=jobs.EXPORT).exists()
