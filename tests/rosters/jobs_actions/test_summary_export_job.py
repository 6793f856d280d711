"""The plan page's month summary of a county of several townships is exported by a job (the plan
page's rule); one township's summary stays a direct download."""

import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from clinics.models import Role
from core.jobs import job_file_for, run_job
from core.models import Job
from staffing.rosters.jobs import SUMMARY_EXPORT, summary_export_start
from staffing.rosters.services.generation import roster_generate
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

pytestmark = pytest.mark.django_db
NOV = datetime.date(2026, 11, 1)
PLAN = "admin:rosters_rostermonth_plan"


@pytest.fixture
def county(calendar_2026, roles):
    townships = [TownshipFactory(), TownshipFactory()]
    clinics = [clinic_with_doctors(2, township=t)[0] for t in townships]
    roster_generate(month=NOV)
    return {"townships": townships, "clinics": clinics}


def _codes(job, user):
    with job_file_for(user=user, job_id=job.pk).open() as handle:
        sheet = load_workbook(io.BytesIO(handle.read()), read_only=True).active
        return sorted({row[0] for row in list(sheet.iter_rows(values_only=True))[1:]})


def test_the_county_summary_is_a_job_and_a_township_summary_is_immediate(county, county_admin, client):
    client.force_login(county_admin)
    response = client.post(reverse(PLAN), {"month": "2026-11", "export": "1"})
    job = Job.objects.get(kind=SUMMARY_EXPORT)
    assert response.status_code == 302 and response["Location"] == reverse("operations:job-detail", args=[job.pk])
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["rows"] == 4 and job.file_name == "roster-summary-2026-11.xlsx"
    assert _codes(job, county_admin) == sorted(c.code for c in county["clinics"])

    response = client.post(reverse(PLAN), {"month": "2026-11", "township": county["townships"][0].pk, "export": "1"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert Job.objects.filter(kind=SUMMARY_EXPORT).count() == 1


def test_a_summary_job_keeps_to_its_starters_township(county):
    admin = make_user(Role.TOWNSHIP_ADMIN, township=county["townships"][1])
    job = summary_export_start(month=NOV, user=admin)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert _codes(job, admin) == [county["clinics"][1].code]
