"""Mark paid asks for confirmation (counts, totals, who), and the payslip notice goes out when the
run is paid — not when it is approved — once per doctor."""

from decimal import Decimal

import pytest
from django.urls import reverse

from clinics.models import Role
from core.models import AuditEntry
from notifications.models import Notification
from staffing.payroll import services
from staffing.payroll.models import PayRun, Payslip
from tests.factories import clinic_with_doctors, make_user
from tests.payroll.conftest import OCT, approve, run_month

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(policies, visits, roles):
    _clinic, doctors = clinic_with_doctors(2)
    users = [make_user(Role.VILLAGE_DOCTOR, doctor=d) for d in doctors]
    return approve(run_month(OCT)), users


def test_approval_queues_no_payslip_notice_and_paid_queues_one_per_doctor(approved, county_admin):
    run, users = approved
    assert not Notification.objects.filter(kind="payslip_available").exists()
    services.payrun_mark_paid(run=run, acting_user=county_admin)
    notices = Notification.objects.filter(kind="payslip_available")
    assert set(notices.values_list("recipient_id", flat=True)) == {u.pk for u in users}
    per_user_channel = notices.values_list("recipient_id", "channel")
    assert len(per_user_channel) == len(set(per_user_channel)), "one notice per doctor and channel"
    slip = Payslip.objects.get(run=run, doctor__user=users[0])
    body = notices.filter(recipient=users[0]).first().body
    assert "已发放" in body and "2026年10月" in body and f"{slip.net:,.2f}" in body
    # Marking paid again is refused and queues nothing more.
    count = notices.count()
    with pytest.raises(Exception):  # noqa: B017 - PayRunConflict (a ValidationError and a Conflict)
        services.payrun_mark_paid(run=PayRun.objects.get(pk=run.pk), acting_user=county_admin)
    assert Notification.objects.filter(kind="payslip_available").count() == count


def test_mark_paid_action_asks_first_and_acts_only_on_confirm(approved, county_admin, client):
    run, _users = approved
    client.force_login(county_admin)
    changelist = reverse("admin:payroll_payrun_changelist")
    page = client.post(changelist, {"action": "mark_paid", "_selected_action": [run.pk]})
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="mark-paid-runs"' in body and f'data-run="{run.pk}"' in body
    assert f"{run.net_total:,.2f}" in body and f"{run.gross_total:,.2f}" in body and "county" in body
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.APPROVED
    assert not Notification.objects.filter(kind="payslip_available").exists()

    done = client.post(changelist, {"action": "mark_paid", "_selected_action": [run.pk], "confirm": "yes"})
    assert done.status_code == 302
    paid = PayRun.objects.get(pk=run.pk)
    assert paid.status == PayRun.Status.PAID and paid.paid_at is not None
    assert AuditEntry.objects.filter(action="payrun.paid", object_id=str(run.pk), actor=county_admin).exists()
    assert Notification.objects.filter(kind="payslip_available").exists()


def test_mark_paid_page_lists_runs_it_cannot_pay(policies, visits, county_admin, client):
    clinic_with_doctors(1)
    calculated = run_month(OCT)
    client.force_login(county_admin)
    response = client.post(reverse("admin:payroll_payrun_changelist"), {"action": "mark_paid", "_selected_action": [calculated.pk]},
                           follow=True)
    assert "mark-paid-runs" not in response.content.decode()  # nothing to confirm: the refusal is shown instead
    assert PayRun.objects.get(pk=calculated.pk).status == PayRun.Status.CALCULATED
    assert Decimal(calculated.net_total) > 0


def test_a_large_run_is_marked_paid_by_a_job_that_tells_the_doctors(approved, county_admin, client, settings,
                                                                      django_capture_on_commit_callbacks):
    from config.celery import app

    settings.PAYROLL_JOB_THRESHOLD = 1
    settings.JOBS_PROGRESS_INTERVAL_SECONDS = 0
    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    try:
        _mark_paid_by_job(approved, county_admin, client, django_capture_on_commit_callbacks)
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = before


def _mark_paid_by_job(approved, county_admin, client, django_capture_on_commit_callbacks):
    from core.models import Job
    from staffing.payroll import jobs

    run, users = approved
    client.force_login(county_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:payroll_payrun_changelist"),
                               {"action": "mark_paid", "_selected_action": [run.pk], "confirm": "yes"})
    job = Job.objects.get(kind=jobs.MARK_PAID)
    assert response["Location"] == reverse("operations:job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.PAID
    assert set(Notification.objects.filter(kind="payslip_available").values_list("recipient_id", flat=True)) == {u.pk for u in users}
    # A retry after a takeover finds the run paid and queues nothing more.
    count = Notification.objects.count()
    job.attempts = 2
    assert jobs.mark_paid_job(params=job.params, progress=lambda *a, **k: None, job=job)["run_id"] == run.pk
    assert Notification.objects.count() == count
