"""The roster changelist's "regenerate" and "publish" actions follow the plan page's rule: a
selection spanning several townships starts a job (one per month), one township stays immediate;
publishing first shows how many rosters are published and how many doctors are told. A job keeps
only the rows its starter may change."""

import datetime

import pytest
from django.urls import reverse

from clinics.models import Role
from core.jobs import run_job
from core.models import Job
from notifications.models import Notification
from staffing.rosters.jobs import GENERATE_SELECTION, PUBLISH_SELECTION, roster_selection_job_start
from staffing.rosters.models import DutyDay, RosterMonth
from staffing.rosters.services.generation import roster_generate
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

pytestmark = pytest.mark.django_db
NOV = datetime.date(2026, 11, 1)
CHANGELIST = "admin:rosters_rostermonth_changelist"


@pytest.fixture
def county(calendar_2026, roles):
    """Two townships, two clinics each of two doctors (with logins), November planned as drafts."""
    townships = [TownshipFactory(), TownshipFactory()]
    clinics, doctors = [], []
    for township in townships:
        for _ in range(2):
            clinic, pair = clinic_with_doctors(2, township=township)
            clinics.append(clinic)
            doctors += pair
    for doctor in doctors:
        make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    roster_generate(month=NOV)
    admins = [make_user(Role.TOWNSHIP_ADMIN, township=t) for t in townships]
    return {"townships": townships, "clinics": clinics, "doctors": doctors, "admins": admins}


def _act(client, action, rows, **extra):
    return client.post(reverse(CHANGELIST), {"action": action, "index": "0", "_selected_action": [r.pk for r in rows], **extra})


def _stamps():
    return dict(RosterMonth.objects.values_list("pk", "generated_at"))


def test_regenerating_several_townships_starts_a_job_that_plans_the_selection(county, county_admin, client):
    rosters = list(RosterMonth.objects.order_by("pk"))
    before = _stamps()
    client.force_login(county_admin)
    response = _act(client, "regenerate", rosters[:3])  # two clinics of the first township, one of the second
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("operations:job-detail", args=[job.pk])
    assert job.kind == GENERATE_SELECTION and job.started_by == county_admin
    assert job.params["facilities"] == sorted(r.facility_id for r in rosters[:3])
    assert _act(client, "regenerate", rosters[:3]).status_code == 302 and Job.objects.count() == 1  # joins it
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert (job.result["planned"], job.result["townships"], job.done, job.total) == (3, 2, 2, 2)
    after = _stamps()
    assert [after[r.pk] != before[r.pk] for r in rosters] == [True, True, True, False]
    assert DutyDay.objects.filter(roster=rosters[0]).exists()


def test_regenerating_one_township_stays_immediate(county, client):
    admin = county["admins"][0]
    own = list(RosterMonth.objects.filter(facility__township=county["townships"][0]))
    before = _stamps()
    client.force_login(admin)
    response = _act(client, "regenerate", own)
    assert response.status_code == 302 and response["Location"].startswith(reverse(CHANGELIST))
    assert not Job.objects.exists()
    after = _stamps()
    assert all(after[r.pk] != before[r.pk] for r in own)


def test_publishing_asks_first_with_the_rosters_and_doctors_to_notify(county, county_admin, client):
    rosters = list(RosterMonth.objects.order_by("pk"))
    client.force_login(county_admin)
    page = _act(client, "publish", rosters[:1] + rosters[2:3])  # one clinic of each township
    assert page.status_code == 200
    assert page.context["preview"]["rosters"] == 4  # every draft of both townships' month
    assert page.context["preview"]["doctors"] == 8
    assert [row["rosters"] for row in page.context["preview"]["rows"]] == [2, 2]
    assert page.context["as_job"] is True
    assert 'name="confirm" value="yes"' in page.content.decode()
    assert not RosterMonth.objects.filter(status=RosterMonth.Status.PUBLISHED).exists() and not Job.objects.exists()

    response = _act(client, "publish", rosters[:1] + rosters[2:3], confirm="yes")
    job = Job.objects.get()
    assert response.status_code == 302 and job.kind == PUBLISH_SELECTION
    assert job.params["townships"] == sorted(t.pk for t in county["townships"])
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["published"] == 4
    assert RosterMonth.objects.filter(status=RosterMonth.Status.PUBLISHED).count() == 4
    assert Notification.objects.filter(kind="roster_published", channel="in_app").values("recipient").distinct().count() == 8


def test_a_township_admin_publishes_his_township_immediately_after_confirming(county, client):
    admin = county["admins"][1]
    own = list(RosterMonth.objects.filter(facility__township=county["townships"][1]))
    client.force_login(admin)
    page = _act(client, "publish", own[:1])
    assert page.status_code == 200 and page.context["preview"]["rosters"] == 2 and page.context["as_job"] is False
    response = _act(client, "publish", own[:1], confirm="yes")
    assert response.status_code == 302 and not Job.objects.exists()
    assert set(RosterMonth.objects.filter(status=RosterMonth.Status.PUBLISHED)) == set(own)


def test_a_township_admin_cannot_select_another_township(county, client):
    admin = county["admins"][0]
    other = list(RosterMonth.objects.filter(facility__township=county["townships"][1]))
    before = _stamps()
    client.force_login(admin)
    _act(client, "regenerate", other)
    _act(client, "publish", other, confirm="yes")
    assert _stamps() == before and not Job.objects.exists()
    assert not RosterMonth.objects.filter(status=RosterMonth.Status.PUBLISHED).exists()


def test_a_job_keeps_only_the_rows_its_starter_may_change(county):
    """Jobs whose parameters name the whole county, started by a township admin."""
    admin = county["admins"][0]
    own = set(RosterMonth.objects.filter(facility__township=county["townships"][0]).values_list("pk", flat=True))
    before = _stamps()
    plan = roster_selection_job_start(action="generate", month=NOV, user=admin,
                                      facility_ids=[c.pk for c in county["clinics"]])
    run_job(plan.pk)
    plan.refresh_from_db()
    assert plan.status == Job.Status.SUCCEEDED, plan.error
    assert plan.result["planned"] == 2
    after = _stamps()
    assert {pk for pk in before if after[pk] != before[pk]} == own
    publish = roster_selection_job_start(action="publish", month=NOV, user=admin,
                                         township_ids=[t.pk for t in county["townships"]])
    run_job(publish.pk)
    publish.refresh_from_db()
    assert publish.status == Job.Status.SUCCEEDED, publish.error
    assert set(RosterMonth.objects.filter(status=RosterMonth.Status.PUBLISHED).values_list("pk", flat=True)) == own


def test_the_confirmation_page_queries_stay_flat(county, county_admin, client, django_assert_max_num_queries):
    client.force_login(county_admin)
    with django_assert_max_num_queries(30) as small:
        _act(client, "publish", list(RosterMonth.objects.all()))
    township = TownshipFactory()
    for _ in range(6):
        clinic, pair = clinic_with_doctors(2, township=township)
        for doctor in pair:
            make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    roster_generate(month=NOV, township=township)
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        response = _act(client, "publish", list(RosterMonth.objects.all()))
    assert response.context["preview"]["rosters"] == 10
    assert len(large.captured_queries) == len(small.captured_queries)
