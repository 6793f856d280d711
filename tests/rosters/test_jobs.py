"""Planning and publishing a county of several townships run as jobs (issue #19): the plan page
starts one job (a second start joins it), the job wraps the same services as the immediate path
and gives the same rosters, progress counts the townships, and the job page shows the result in
Chinese; one township (or a county of one) stays immediate."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation

from core.models import Job
from staffing.rosters.jobs import roster_job_start
from staffing.rosters.models import DutyDay, RosterMonth
from staffing.rosters.services.generation import roster_generate
from tests.factories import TownshipFactory, clinic_with_doctors

pytestmark = pytest.mark.django_db
NOV = datetime.date(2026, 11, 1)


@pytest.fixture
def eager():
    from config.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def county(calendar_2026, roles):
    """Three townships, each with a clinic of two doctors."""
    townships = [TownshipFactory() for _ in range(3)]
    clinics = [clinic_with_doctors(2, township=t)[0] for t in townships]
    return {"townships": townships, "clinics": clinics}


def _duties():
    return sorted(DutyDay.objects.values_list("facility_id", "date", "duty", "doctor_id", "day_kind", "source"))


def _post(client, data, capture):
    with capture(execute=True):
        return client.post(reverse("admin:rosters_rostermonth_plan"), {"month": f"{NOV:%Y-%m}", **data})


def test_county_planning_and_publishing_run_as_jobs_like_the_immediate_path(
    county, county_admin, client, eager, django_capture_on_commit_callbacks
):
    client.force_login(county_admin)
    response = _post(client, {"generate": "1"}, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/ops/jobs/{job.pk}/"
    job.refresh_from_db()
    assert (job.kind, job.status, job.done, job.total) == ("rosters.generate", Job.Status.SUCCEEDED, 3, 3)
    assert job.started_by == county_admin
    assert (job.result["planned"], job.result["townships"]) == (3, 3)
    with translation.override("zh-hans"):
        assert job.result["message"].startswith("2026-11")
    page = client.get(f"/ops/jobs/{job.pk}/").content.decode()
    assert job.result["message"] in page and "排班" in page
    by_job = _duties()
    assert by_job and RosterMonth.objects.filter(month=NOV, status="draft").count() == 3

    roster_generate(month=NOV, acting_user=county_admin)  # the immediate county-wide call
    assert _duties() == by_job

    response = _post(client, {"publish": "1", "confirm": "yes"}, django_capture_on_commit_callbacks)
    publish = Job.objects.get(kind="rosters.publish")
    assert response["Location"] == f"/ops/jobs/{publish.pk}/"
    publish.refresh_from_db()
    assert (publish.status, publish.done, publish.total, publish.result["published"]) == (Job.Status.SUCCEEDED, 3, 3, 3)
    assert set(RosterMonth.objects.filter(month=NOV).values_list("status", flat=True)) == {"published"}
    assert publish.result["message"] in client.get(f"/ops/jobs/{publish.pk}/").content.decode()
    assert _duties() == by_job  # publishing does not change the duties

    # Publishing again: nothing left, the service's own (Chinese) refusal lands on the job.
    _post(client, {"publish": "1", "confirm": "yes"}, django_capture_on_commit_callbacks)
    again = Job.objects.filter(kind="rosters.publish").latest("pk")
    assert again.pk != publish.pk and again.status == Job.Status.FAILED and "已" in again.error
    assert again.error in client.get(f"/ops/jobs/{again.pk}/").content.decode()


def test_second_start_of_the_same_month_joins_the_first(county, county_admin):
    first = roster_job_start(action="generate", month=NOV, user=county_admin)
    assert roster_job_start(action="generate", month=NOV, user=county_admin).pk == first.pk
    publish = roster_job_start(action="publish", month=NOV, user=county_admin)
    other_month = roster_job_start(action="generate", month=datetime.date(2026, 12, 1), user=county_admin)
    assert len({first.pk, publish.pk, other_month.pk}) == 3 and Job.objects.count() == 3


def test_missing_calendar_fails_the_job_in_chinese_and_plans_nothing(
    county, county_admin, client, eager, django_capture_on_commit_callbacks
):
    client.force_login(county_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:rosters_rostermonth_plan"), {"month": "2027-01", "generate": "1"})
    job = Job.objects.get()
    assert job.status == Job.Status.FAILED and "2027 年的节假日安排尚未录入" in job.error
    assert RosterMonth.objects.count() == 0
    assert job.error in client.get(f"/ops/jobs/{job.pk}/").content.decode()


def test_one_township_stays_immediate(county, county_admin, client, django_capture_on_commit_callbacks):
    client.force_login(county_admin)
    township = county["townships"][0]
    response = _post(client, {"generate": "1", "township": township.pk}, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and "/ops/jobs/" not in response["Location"]
    assert Job.objects.count() == 0
    assert RosterMonth.objects.get().facility == county["clinics"][0]
