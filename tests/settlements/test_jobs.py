"""Large settlement files and a province-size reconciliation run as jobs (issue #19): the admin's
page starts one job (a second start joins it), the job wraps the same service as the immediate
path and gives the same result, progress reaches its total, and the job page shows the result —
or a bad file's Chinese error, with nothing half-imported."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clinics.settlements.jobs import reconciliation_start, settlement_import_start, upload_dir
from clinics.settlements.models import Reconciliation, SettlementImport, SettlementRecord
from clinics.settlements.services import reconciliation_compute, settlements_import
from core.models import Job
from tests.settlements.helpers import DAY, csv_bytes, numbered, row

pytestmark = pytest.mark.django_db
UPLOAD = "/admin/settlements/settlementimport/upload/"
RUN = "/admin/settlements/reconciliation/compute/"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def eager():
    from config.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def small_threshold(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.SETTLEMENT_JOB_THRESHOLD_BYTES = 100
    return settings


def _job_page(client, job) -> str:
    page = client.get(f"/ops/jobs/{job.pk}/")
    assert page.status_code == 200
    return page.content.decode()


def test_large_upload_is_imported_by_one_job_like_a_small_one(clinic, clerk, client, eager, small_threshold,
                                                              django_capture_on_commit_callbacks):
    client.force_login(clerk)
    data = csv_bytes([row(clinic, 1), row(clinic, 2, insutype="999"), row(clinic, 3)])
    assert len(data) > small_threshold.SETTLEMENT_JOB_THRESHOLD_BYTES
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(UPLOAD, {"file": SimpleUploadedFile("s.csv", data)})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/ops/jobs/{job.pk}/"
    job.refresh_from_db()
    assert (job.kind, job.status, job.done, job.total) == ("settlements.import", Job.Status.SUCCEEDED, 1, 1)
    batch = SettlementImport.objects.get()
    assert job.result["batch"] == batch.pk and job.started_by == clerk and batch.uploaded_by == clerk
    assert (job.result["accepted"], job.result["duplicates"], job.result["rejected"]) == (2, 0, 1)
    page = _job_page(client, job)
    assert "已接收 2 条，重复 0 条（已记录，未改动），拒收 1 条。" in page
    assert f"/admin/settlements/settlementimport/{batch.pk}/change/" in page
    assert list(upload_dir().iterdir()) == []  # the stored file is gone once imported

    # The immediate path on the same file: the same rows, now duplicates (idempotent on setl_id).
    again = settlements_import(source="upload", acting_user=clerk, data=data, filename="s.csv")
    assert (again.accepted, again.duplicates, again.rejected) == (0, 2, 1)
    assert SettlementRecord.objects.count() == 2


def test_second_start_of_the_same_file_joins_the_queued_job(clinic, clerk, small_threshold):
    data = csv_bytes([row(clinic, 1), row(clinic, 2)])
    first = settlement_import_start(upload=SimpleUploadedFile("s.csv", data), user=clerk)
    second = settlement_import_start(upload=SimpleUploadedFile("s.csv", data), user=clerk)
    assert first.pk == second.pk and Job.objects.count() == 1
    assert [p.name for p in upload_dir().iterdir()] == [first.params["stored"]]  # one stored copy
    other = settlement_import_start(upload=SimpleUploadedFile("s.csv", csv_bytes([row(clinic, 3)] * 3)), user=clerk)
    assert other.pk != first.pk


def test_small_upload_stays_immediate(clinic, clerk, client, settings):
    settings.SETTLEMENT_JOB_THRESHOLD_BYTES = 5 * 1024 * 1024
    client.force_login(clerk)
    response = client.post(UPLOAD, {"file": SimpleUploadedFile("s.csv", csv_bytes([row(clinic, 1)]))})
    batch = SettlementImport.objects.get()
    assert response["Location"] == f"/admin/settlements/settlementimport/{batch.pk}/change/"
    assert Job.objects.count() == 0


def test_bad_large_file_fails_the_job_in_chinese_and_imports_nothing(clinic, clerk, client, eager, small_threshold,
                                                                      django_capture_on_commit_callbacks):
    client.force_login(clerk)
    good = csv_bytes([row(clinic, n) for n in range(1, 4)])
    bad = good.replace(b"setl_id", b"settlement", 1)  # a required column missing: the file is unreadable
    with django_capture_on_commit_callbacks(execute=True):
        client.post(UPLOAD, {"file": SimpleUploadedFile("s.csv", bad)})
    job = Job.objects.get()
    assert job.status == Job.Status.FAILED
    assert CJK.search(job.error) and "setl_id" in job.error
    assert SettlementImport.objects.count() == 0 and SettlementRecord.objects.count() == 0
    assert job.error in _job_page(client, job)
    assert list(upload_dir().iterdir()) == []


def _snapshot():
    return sorted(Reconciliation.objects.values_list("facility_id", "balanced", "our_count", "our_medfee"))


def test_county_reconciliation_runs_as_one_job_like_the_immediate_path(clinic, other_clinic, clerk, client, eager,
                                                                       settings, django_capture_on_commit_callbacks):
    settings.RECONCILE_JOB_MIN_CLINICS = 2
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 1), row(clinic, 2),
                                                                        row(other_clinic, 3)]))
    client.force_login(clerk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RUN, {"month": f"{DAY:%Y-%m}"})
    job = Job.objects.get()
    assert response["Location"] == f"/ops/jobs/{job.pk}/"
    job.refresh_from_db()
    assert (job.kind, job.status) == ("settlements.reconcile", Job.Status.SUCCEEDED)
    assert job.result["clinics"] == 2
    by_job = _snapshot()
    assert CJK.search(job.result["message"])
    assert job.result["message"] in _job_page(client, job)
    reconciliation_compute(begin=DAY.replace(day=1), end=DAY.replace(day=31), acting_user=clerk)  # immediate path
    assert _snapshot() == by_job


def test_second_reconciliation_start_of_the_period_joins_the_first(clinic, other_clinic, clerk):
    first = reconciliation_start(begin=DAY.replace(day=1), end=DAY.replace(day=31), user=clerk)
    assert reconciliation_start(begin=DAY.replace(day=1), end=DAY.replace(day=31), user=clerk).pk == first.pk
    assert Job.objects.count() == 1


def test_small_reconciliation_stays_immediate(clinic, other_clinic, clerk, client, settings):
    settings.RECONCILE_JOB_MIN_CLINICS = 50
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 1), row(other_clinic, 3)]))
    client.force_login(clerk)
    response = client.post(RUN, {"month": f"{DAY:%Y-%m}"})
    assert response.status_code == 302 and "/ops/jobs/" not in response["Location"]
    assert Job.objects.count() == 0 and Reconciliation.objects.count() == 2
