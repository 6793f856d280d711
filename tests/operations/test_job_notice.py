"""The starter's inbox notice when a job ends (operations.notices, an on_job_finished listener)."""

import pytest
from django.urls import reverse

from core.jobs import run_job, start_job
from core.models import Job
from notifications.models import Channel, Kind, Notification

pytestmark = pytest.mark.django_db


def _inbox(user):
    return Notification.objects.filter(recipient=user, kind=Kind.JOB_FINISHED, channel=Channel.IN_APP)


def test_a_job_that_succeeds_puts_one_notice_in_its_starters_inbox(counting_job, staff_user):
    job = start_job("tests.count", params={"n": 3}, user=staff_user)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    [notice] = _inbox(staff_user)
    assert notice.about == job
    assert "数数" in notice.subject and "数数" in notice.body
    assert "已完成" in notice.subject and "已完成" in notice.body
    assert notice.link == reverse("operations:job-detail", args=[job.pk])
    # A redelivered task leaves a finished job alone: no second notice.
    run_job(job.pk)
    assert _inbox(staff_user).count() == 1


def test_a_job_that_fails_tells_its_starter_why_in_chinese(counting_job, staff_user):
    job = start_job("tests.count", params={"n": 4, "fail": True}, user=staff_user)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    [notice] = _inbox(staff_user)
    assert "任务失败" in notice.subject and "数数" in notice.subject
    assert "第三项的数据不完整，请补齐后再开始。" in notice.body
    assert "已完成" not in notice.body
    assert notice.link == reverse("operations:job-detail", args=[job.pk])


def test_a_job_started_without_a_user_sends_nothing(counting_job):
    job = start_job("tests.count", params={"n": 2})
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.started_by_id is None
    assert not Notification.objects.filter(kind=Kind.JOB_FINISHED).exists()
