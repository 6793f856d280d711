"""The reconciliation's detail lines (the month's "detail" export) as a job once there are at
least EXPORT_JOB_MIN_ROWS of them in reach (clinics.settlements.jobs); fewer stay immediate."""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from clinics.models import Role
from clinics.settlements.jobs import DISCREPANCY_EXPORT, discrepancy_export_start
from clinics.settlements.models import BureauStatement, Reconciliation, ReconciliationItem
from core.jobs import job_file_for, run_job
from core.models import Job
from tests.factories import FacilityFactory, TownshipFactory, make_user

pytestmark = pytest.mark.django_db
NOV = datetime.date(2026, 11, 1)


@pytest.fixture
def lines(roles, settings):
    """Two townships' clinics, three unmatched lines each, one matched line (never exported)."""
    settings.EXPORT_JOB_MIN_ROWS = 4
    statement = BureauStatement.objects.create(month=NOV)
    north, south = TownshipFactory(), TownshipFactory()
    clinics = {"north": FacilityFactory(township=north), "south": FacilityFactory(township=south)}
    for name, clinic in clinics.items():
        result = Reconciliation.objects.create(month=NOV, stmt_begndate=NOV, stmt_enddate=NOV.replace(day=30),
                                               facility=clinic, statement=statement, balanced=False)
        for n in range(3):
            ReconciliationItem.objects.create(reconciliation=result, setl_id=f"{name}-0{n}", status="amounts_differ",
                                              our_medfee=Decimal("10.00"), bureau_medfee=Decimal("12.50"))
        ReconciliationItem.objects.create(reconciliation=result, setl_id=f"{name}-ok", status="matched")
    return {"north": north, "south": south, **{f"{k}_clinic": v for k, v in clinics.items()}}


def _setl_ids(job, user):
    with job_file_for(user=user, job_id=job.pk).open() as handle:
        sheet = load_workbook(io.BytesIO(handle.read()), read_only=True).active
        return sorted(row[3] for row in list(sheet.iter_rows(values_only=True))[1:])  # setl_id


def test_a_county_month_above_the_threshold_is_exported_by_a_job(client, lines):
    clerk = make_user(Role.INSURANCE_CLERK, username="clerk")
    client.force_login(clerk)
    response = client.get(reverse("admin:settlements_reconciliation_export"), {"month": "2026-11", "detail": "1"})
    job = Job.objects.get(kind=DISCREPANCY_EXPORT)
    assert response.status_code == 302 and response["Location"] == reverse("operations:job-detail", args=[job.pk])
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["rows"] == 6 and job.file_name == "reconciliation-2026-11-lines.xlsx"
    assert _setl_ids(job, clerk) == ["north-00", "north-01", "north-02", "south-00", "south-01", "south-02"]


def test_a_township_admins_lines_stay_immediate_and_his_job_exports_his_township_only(client, lines):
    admin = make_user(Role.TOWNSHIP_ADMIN, township=lines["north"])
    client.force_login(admin)
    response = client.get(reverse("admin:settlements_reconciliation_export"), {"month": "2026-11", "detail": "1"})
    assert response.status_code == 200 and not Job.objects.exists()  # three lines in his reach: immediate
    job = discrepancy_export_start(month=NOV, user=admin)  # started anyway: the job derives the reach again
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert _setl_ids(job, admin) == ["north-00", "north-01", "north-02"]
