"""The long-work framework (core.jobs): progress, two starts run once, failures in the user's
language, retries that do not run finished work again, and the pages."""

import datetime
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core.jobs import error_message, estimate_remaining, job_state, requeue_stale_jobs, run_job, run_job_task, start_job
from core.models import AuditEntry, Job

pytestmark = pytest.mark.django_db


def test_a_started_job_runs_on_a_worker_with_progress_and_result(eager, counting_job, staff_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job("tests.count", params={"n": 5}, user=staff_user)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert (job.done, job.total, job.note) == (5, 5, "第 5 项")
    assert job.result == {"counted": 5}
    assert job.started_by == staff_user and job.started_at and job.finished_at >= job.started_at
    assert counting_job == [1]
    actions = set(AuditEntry.objects.filter(object_id=str(job.pk)).values_list("action", flat=True))
    assert {"job.started", "job.succeeded"} <= actions


def test_two_starts_of_the_same_work_meet_one_job(counting_job, staff_user):
    first = start_job("tests.count", params={"n": 3}, user=staff_user)
    second = start_job("tests.count", params={"n": 3}, user=staff_user)
    other = start_job("tests.count", params={"n": 4}, user=staff_user)
    assert first.pk == second.pk != other.pk
    assert Job.objects.filter(kind="tests.count").count() == 2
    # Once the first has finished, the same work may be started again.
    run_job(first.pk)
    again = start_job("tests.count", params={"n": 3}, user=staff_user)
    assert again.pk != first.pk


def test_the_database_refuses_a_second_active_job_of_the_same_work(counting_job):
    from django.db import IntegrityError, transaction

    Job.objects.create(kind="tests.count", dedupe_key="k")
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.create(kind="tests.count", dedupe_key="k", status=Job.Status.RUNNING)
    Job.objects.create(kind="tests.count", dedupe_key="k", status=Job.Status.FAILED)  # finished ones may repeat


def test_a_refusal_is_recorded_in_the_users_words(counting_job, staff_user):
    job = start_job("tests.count", params={"n": 4, "fail": True}, user=staff_user)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "第三项的数据不完整，请补齐后再开始。"
    assert job.done == 4 and job.finished_at is not None


def test_an_unexpected_error_shows_a_general_chinese_message_and_no_internals(counting_job, staff_user, caplog):
    job = start_job("tests.count", params={"n": 2, "crash": True}, user=staff_user)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "10.0.0.5" not in job.error
    # The general message (translated by the catalogue: “任务因意外错误而停止…”).
    assert job.error == error_message(RuntimeError())
    assert "10.0.0.5" in caplog.text  # the details are in the log for the administrators


def test_a_redelivered_task_does_not_run_finished_work_again(eager, counting_job, staff_user):
    job = start_job("tests.count", params={"n": 2}, user=staff_user)
    assert run_job_task.delay(job.pk).get() == "succeeded"
    assert run_job_task.delay(job.pk).get() == "skipped"
    assert counting_job == [1]


def test_a_running_job_with_fresh_progress_belongs_to_its_worker(counting_job, staff_user):
    job = start_job("tests.count", params={"n": 2}, user=staff_user)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1, heartbeat_at=timezone.now())
    assert run_job(job.pk) is None
    assert counting_job == []


def test_a_job_whose_worker_died_is_taken_over_after_the_lease(counting_job, staff_user, settings):
    job = start_job("tests.count", params={"n": 2}, user=staff_user)
    stale = timezone.now() - datetime.timedelta(seconds=settings.JOBS_LEASE_SECONDS + 5)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1, started_at=stale, heartbeat_at=stale, done=1, total=2)
    finished = run_job(job.pk)
    assert finished.status == Job.Status.SUCCEEDED and finished.attempts == 2
    assert counting_job == [2]
    assert AuditEntry.objects.filter(object_id=str(job.pk), action="job.restarted").exists()


def test_the_dead_attempt_cannot_overwrite_the_takeover(counting_job, staff_user):
    from core.jobs import Progress, _finish

    job = start_job("tests.count", params={"n": 3}, user=staff_user)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=2, heartbeat_at=timezone.now())
    zombie = Job.objects.get(pk=job.pk)
    zombie.attempts = 1  # what the first, presumed dead, attempt still holds
    Progress(zombie)(3, total=3)
    assert _finish(zombie, to=Job.Status.FAILED, error="late").status == Job.Status.RUNNING
    job.refresh_from_db()
    assert (job.status, job.done, job.error) == (Job.Status.RUNNING, 0, "")


def test_stale_jobs_are_sent_again(counting_job, staff_user, settings, monkeypatch):
    sent = []
    monkeypatch.setattr("core.jobs.run_job_task.apply_async", lambda args, retry: sent.append(args[0]))
    old = timezone.now() - datetime.timedelta(seconds=settings.JOBS_LEASE_SECONDS + 5)
    queued = start_job("tests.count", params={"n": 1}, user=staff_user)
    Job.objects.filter(pk=queued.pk).update(created_at=old)
    fresh = start_job("tests.count", params={"n": 2}, user=staff_user)
    assert requeue_stale_jobs() == 1
    assert sent == [queued.pk] and fresh.pk not in sent


def test_the_estimate_follows_the_rate_so_far():
    now = timezone.now()
    job = Job(kind="x", status=Job.Status.RUNNING, done=25, total=100, started_at=now - datetime.timedelta(seconds=10))
    assert estimate_remaining(job, now=now) == pytest.approx(30.0)
    job.done = 0
    assert estimate_remaining(job, now=now) is None
    # 1 of 56,352 after a 10 s reading stage would promise days: no estimate before 2 % is done.
    job.done, job.total = 1, 56_352
    assert estimate_remaining(job, now=now) is None
    job.done = 1_200
    assert estimate_remaining(job, now=now) == pytest.approx((56_352 - 1_200) * 10 / 1_200)


def test_a_new_stage_is_written_at_once_despite_the_throttle(staff_user, settings):
    """Within one interval: the steps of a stage are throttled, but the first step of the next
    stage (its note changes) is written, so the page never shows a finished stage's count."""
    from core.jobs import Progress

    settings.JOBS_PROGRESS_INTERVAL_SECONDS = 3600
    job = Job.objects.create(kind="x", dedupe_key="k", status=Job.Status.RUNNING, started_by=staff_user, attempts=1)
    progress = Progress(job)
    progress(1, total=10, note="calculating")
    progress(5, total=10, note="calculating")  # throttled
    assert Job.objects.values_list("done", "note").get(pk=job.pk) == (1, "calculating")
    progress(6, total=10, note="saving")  # a new stage
    assert Job.objects.values_list("done", "note").get(pk=job.pk) == (6, "saving")
    progress(8, total=10, note="saving")  # throttled again
    assert Job.objects.values_list("done", flat=True).get(pk=job.pk) == 6
    progress(10, total=10, note="saving")  # the last step is always written
    assert Job.objects.values_list("done", flat=True).get(pk=job.pk) == 10


def test_the_progress_page_and_my_tasks(client, counting_job, staff_user, django_user_model):
    job = start_job("tests.count", params={"n": 4}, user=staff_user)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1, done=1, total=4,
                                         started_at=timezone.now() - datetime.timedelta(seconds=30))  # fmt: skip
    client.force_login(staff_user)
    page = client.get(reverse("operations:job-detail", args=[job.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "数数" in text and "1 / 4" in text and reverse("operations:job-state", args=[job.pk]) in text
    state = client.get(reverse("operations:job-state", args=[job.pk])).json()
    assert state["status"] == "running" and state["percent"] == 25 and 90 <= state["remaining_seconds"] <= 180  # 3 × elapsed
    listing = client.get(reverse("operations:job-list")).content.decode()
    assert reverse("operations:job-detail", args=[job.pk]) in listing

    run_job(job.pk)
    state = client.get(reverse("operations:job-state", args=[job.pk])).json()
    assert state["finished"] and state["result"] == {"counted": 4} and state["percent"] == 100

    # Someone else's task is not found; a signed-out caller goes to the login.
    other = django_user_model.objects.create_user(username="other-admin", password="x-very-long-pass-2", is_staff=True)
    client.force_login(other)
    assert client.get(reverse("operations:job-state", args=[job.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("operations:job-detail", args=[job.pk])).status_code == 302


def test_job_state_without_total():
    job = Job(kind="x", status=Job.Status.SUCCEEDED, done=0)
    assert job_state(job)["percent"] == 100


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_progress_inside_the_functions_transaction_is_seen_before_it_commits(staff_user):
    """PostgreSQL: a job function working in one transaction still shows its steps."""
    from django.db import transaction

    from core.jobs import JOBS, register_job

    seen, step_written, carry_on = [], threading.Event(), threading.Event()

    @register_job("tests.one_transaction", label="一个事务")
    def one_transaction(*, params, progress, job):
        with transaction.atomic():
            progress(1, total=2)
            step_written.set()
            carry_on.wait(10)
            progress(2, total=2)
        return {}

    try:
        job = start_job("tests.one_transaction", params={}, user=staff_user)
        worker = threading.Thread(target=lambda: (run_job(job.pk), connection.close()))
        worker.start()
        assert step_written.wait(10)
        seen.append(Job.objects.values_list("done", "total").get(pk=job.pk))
        carry_on.set()
        worker.join(10)
        assert seen == [(1, 2)]
        assert Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED
    finally:
        JOBS.pop("tests.one_transaction", None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_on_postgresql_make_one_job(counting_job, staff_user):
    barrier = threading.Barrier(6)
    ids = []

    def start():
        barrier.wait()
        try:
            ids.append(start_job("tests.count", params={"n": 9}).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(ids) == 6 and len(set(ids)) == 1
    assert Job.objects.filter(kind="tests.count").count() == 1


def test_finish_listeners_hear_each_end_once(counting_job, staff_user):
    from core.jobs import FINISH_LISTENERS, on_job_finished
    from operations.notices import notify_job_finished

    assert notify_job_finished in FINISH_LISTENERS  # the operations app's inbox notice
    heard = []
    listener = on_job_finished(lambda job: heard.append((job.pk, job.status, job.error)))
    try:
        failing = start_job("tests.count", params={"n": 1, "fail": True}, user=staff_user)
        run_job(failing.pk)
        run_job(failing.pk)  # a redelivery: nothing more to hear
        passing = start_job("tests.count", params={"n": 1}, user=staff_user)
        run_job(passing.pk)
    finally:
        FINISH_LISTENERS.remove(listener)
    assert heard == [(failing.pk, "failed", "第三项的数据不完整，请补齐后再开始。"), (passing.pk, "succeeded", "")]
