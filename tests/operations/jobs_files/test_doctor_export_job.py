"""The doctor register export as a job (staffing.jobs): at least EXPORT_JOB_MIN_ROWS doctors run
on a worker and leave a private file for the starter; the job derives the reach again."""

import csv
import io

import pytest
from django.urls import reverse

from clinics.models import Role
from core.jobs import job_file_for, run_job, start_job
from core.models import Job
from staffing.jobs import DOCTOR_EXPORT, doctor_export_start
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def county(roles, settings):
    settings.EXPORT_JOB_MIN_ROWS = 3
    north, south = TownshipFactory(), TownshipFactory()
    _c1, north_doctors = clinic_with_doctors(2, township=north)
    _c2, south_doctors = clinic_with_doctors(2, township=south)
    return {"north": north, "south": south, "north_doctors": north_doctors, "south_doctors": south_doctors}


def _rows(job, user):
    found = job_file_for(user=user, job_id=job.pk)
    with found.open() as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8-sig"))))


def _post_export(client, action="export_csv", **extra):
    return client.post(reverse("admin:staffing_doctor_changelist"), {"action": action, "index": "0", **extra})


def test_a_county_export_above_the_threshold_is_a_job_with_the_full_register(client, county_admin, county):
    everyone = county["north_doctors"] + county["south_doctors"]
    client.force_login(county_admin)
    response = _post_export(client, select_across="1", _selected_action=[everyone[0].pk])
    job = Job.objects.get(kind=DOCTOR_EXPORT)
    assert response.status_code == 302 and response["Location"] == reverse("operations:job-detail", args=[job.pk])
    assert job.params == {"user": county_admin.pk, "format": "csv", "all": True} and job.started_by == county_admin
    # The same export started again while it waits meets the one job.
    _post_export(client, select_across="1", _selected_action=[everyone[0].pk])
    assert Job.objects.filter(kind=DOCTOR_EXPORT).count() == 1

    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result["rows"] == 4 and (job.done, job.total) == (4, 4)
    rows = _rows(job, county_admin)
    assert sorted(r["id_number"] for r in rows) == sorted(d.id_number for d in everyone)  # full numbers
    assert sorted(r["bank_account"] for r in rows) == sorted(d.bank_account for d in everyone)
    assert job.file_name.startswith("doctors-") and job.file_name.endswith(".csv")
    download = client.get(reverse("operations:job-file", args=[job.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "text/csv; charset=utf-8"


def test_a_small_selection_stays_immediate(client, county_admin, county):
    client.force_login(county_admin)
    response = _post_export(client, _selected_action=[d.pk for d in county["north_doctors"]])
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert not Job.objects.exists()


def test_an_xlsx_export_as_a_job(client, county_admin, county):
    from openpyxl import load_workbook

    client.force_login(county_admin)
    _post_export(client, action="export_xlsx", select_across="1", _selected_action=[county["north_doctors"][0].pk])
    job = Job.objects.get(kind=DOCTOR_EXPORT)
    run_job(job.pk)
    found = job_file_for(user=county_admin, job_id=job.pk)
    with found.open() as handle:
        sheet = load_workbook(io.BytesIO(handle.read()), read_only=True).active
        values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 5 and values[0][3] == "id_number"
    assert found.content_type.startswith("application/vnd.openxmlformats")


def test_a_township_admins_job_exports_only_his_township_masked(county):
    admin = make_user(Role.TOWNSHIP_ADMIN, township=county["north"])
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    # Even a job whose parameters name every doctor of the county (and one "all" job).
    everyone = county["north_doctors"] + county["south_doctors"]
    for job in (doctor_export_start(user=admin, fmt="csv", doctor_ids=[d.pk for d in everyone]),
                doctor_export_start(user=admin, fmt="csv")):
        run_job(job.pk)
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error
        rows = _rows(job, admin)
        assert sorted(r["name"] for r in rows) == sorted(d.name for d in county["north_doctors"])
        assert all("*" in r["id_number"] for r in rows)
        assert not {d.id_number for d in everyone} & {r["id_number"] for r in rows}


def test_a_job_whose_starter_lost_his_role_writes_nothing(county_admin, county, django_user_model):
    job = doctor_export_start(user=county_admin, fmt="csv")
    county_admin.is_active = False
    county_admin.save(update_fields=["is_active"])
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and not job.file.name and not job.file_name
    # Nor a job whose parameters name another user than its starter.
    other = django_user_model.objects.create_user(username="x", password="x-very-long-pass-1", is_staff=True)
    forged = start_job(DOCTOR_EXPORT, params={"user": other.pk, "format": "csv", "all": True}, user=county_admin)
    run_job(forged.pk)
    forged.refresh_from_db()
    assert forged.status == Job.Status.FAILED and not forged.file_name
