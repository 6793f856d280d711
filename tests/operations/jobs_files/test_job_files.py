"""A job's private result file (core.jobs.attach_file / job_file_for, core.storage, the download
view, the hourly sweep): only the starter reads it, it expires, it is deleted from disk."""

import datetime
import os
import stat
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone, translation

from core.errors import NotFound
from core.jobs import FileGone, attach_file, job_file_for, job_state, run_job, safe_file_name, start_job
from core.models import AuditEntry, Job
from core.storage import private_root, private_storage
from operations.retention import job_files_sweep, jobs_purge

pytestmark = pytest.mark.django_db

PASSWORD = "x-very-long-pass-1"


@pytest.fixture
def starter(django_user_model):
    return django_user_model.objects.create_user(username="starter", password=PASSWORD, is_staff=True)


@pytest.fixture
def other_staff(django_user_model):
    return django_user_model.objects.create_user(username="other", password=PASSWORD, is_staff=True)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(username="root", password=PASSWORD)


def _finished_export(user, text="身份证号,银行账号\n'110101199001011234,'6222020200112233445\n", **params):
    job = start_job("tests.export", params={"text": text, **params}, user=user)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    return job


def _disk(job) -> Path:
    return Path(private_storage().path(job.file.name))


def test_the_starter_downloads_the_file_and_the_download_is_audited(client, exporting_job, starter, private_dir):
    job = _finished_export(starter)
    assert job.file_name == "名册.csv" and job.file_content_type == "text/csv; charset=utf-8"
    assert job.file_size == len(job.params["text"].encode())
    assert _disk(job).is_file() and private_dir in _disk(job).parents
    client.force_login(starter)
    response = client.get(reverse("operations:job-file", args=[job.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode() == job.params["text"]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "%E5%90%8D%E5%86%8C.csv" in response["Content-Disposition"]  # 名册.csv, RFC 5987
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action="job.file_downloaded", object_id=str(job.pk))
    assert entry.actor == starter and entry.changes["file"] == "名册.csv"


def test_the_page_and_the_state_show_the_file_and_link_to_the_starter_only(client, exporting_job, starter, superuser):
    job = _finished_export(starter)
    link = reverse("operations:job-file", args=[job.pk])
    client.force_login(starter)
    page = client.get(reverse("operations:job-detail", args=[job.pk])).content.decode()
    assert link in page and "名册.csv" in page
    state = client.get(reverse("operations:job-state", args=[job.pk])).json()
    assert state["file"]["name"] == "名册.csv" and state["file"]["url"] == link
    assert state["file"]["size"] == job.file_size and state["file"]["available"] is True
    assert datetime.datetime.fromisoformat(state["file"]["expires_at"]) == job.file_expires_at
    # A superuser sees every job's page, but not its file.
    client.force_login(superuser)
    page = client.get(reverse("operations:job-detail", args=[job.pk])).content.decode()
    assert link not in page and "名册.csv" not in page
    assert client.get(reverse("operations:job-state", args=[job.pk])).json()["file"] is None
    assert job_state(job)["file"] is None


def test_other_staff_and_a_superuser_get_404(client, exporting_job, starter, other_staff, superuser):
    job = _finished_export(starter)
    url = reverse("operations:job-file", args=[job.pk])
    for user in (other_staff, superuser):
        client.force_login(user)
        assert client.get(url).status_code == 404
        with pytest.raises(NotFound):
            job_file_for(user=user, job_id=job.pk)
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    assert not AuditEntry.objects.filter(action="job.file_downloaded").exists()


def test_an_expired_file_is_refused_and_the_sweep_deletes_it_from_disk(client, exporting_job, starter, settings):
    job = _finished_export(starter)
    on_disk = _disk(job)
    assert job.file_expires_at - timezone.now() > datetime.timedelta(hours=settings.JOBS_FILE_RETENTION_HOURS - 1)
    later = job.file_expires_at + datetime.timedelta(minutes=1)
    Job.objects.filter(pk=job.pk).update(file_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with translation.override("en"), pytest.raises(FileGone) as refused:
        job_file_for(user=starter, job_id=job.pk)
    assert "Run the export again" in refused.value.message and "24 hours" in refused.value.message
    with pytest.raises(FileGone) as refused:
        job_file_for(user=starter, job_id=job.pk)
    client.force_login(starter)
    response = client.get(reverse("operations:job-file", args=[job.pk]))
    assert response.status_code == 410
    assert refused.value.message in response.content.decode()

    assert job_files_sweep(now=later) == {"expired": 1, "orphans": 0}
    assert not on_disk.exists()
    job.refresh_from_db()
    assert (job.file.name, job.file_size, job.file_expires_at) == ("", None, None)
    assert job.file_name == "名册.csv"  # the page can say which file is gone
    assert client.get(reverse("operations:job-file", args=[job.pk])).status_code == 410
    page = client.get(reverse("operations:job-detail", args=[job.pk])).content.decode()
    assert reverse("operations:job-file", args=[job.pk]) not in page


def test_the_sweep_leaves_files_still_in_time(exporting_job, starter):
    job = _finished_export(starter)
    assert job_files_sweep() == {"expired": 0, "orphans": 0}
    assert _disk(job).is_file()


def test_a_retried_job_replaces_its_file(exporting_job, starter, django_capture_on_commit_callbacks):
    job = start_job("tests.export", params={"text": "第一次", "crash_after_file": True}, user=starter)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.file.name
    first = _disk(job)
    # Retried by hand as the worker would after a takeover: running again, a second attempt.
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, heartbeat_at=None)
    job = Job.objects.get(pk=job.pk)
    job.attempts += 1
    Job.objects.filter(pk=job.pk).update(attempts=job.attempts)
    with django_capture_on_commit_callbacks(execute=True):
        attach_file(job, name="第二次.csv", content="第二次".encode(), content_type="text/csv")
        assert first.exists()  # until the new row is committed, the old file stays readable
    job.refresh_from_db()
    assert not first.exists()
    assert _disk(job).read_text() == "第二次" and job.file_name == "第二次.csv"
    assert sorted(p.name for p in _disk(job).parent.iterdir()) == [_disk(job).name]


def test_an_attempt_that_was_taken_over_does_not_overwrite_the_file(exporting_job, starter):
    job = _finished_export(starter)
    stale = Job.objects.get(pk=job.pk)
    stale.attempts = job.attempts - 1 or 7  # not the attempt that holds the row
    Job.objects.filter(pk=job.pk).update(attempts=job.attempts)
    attach_file(stale, name="旧的.csv", content=b"old", content_type="text/csv")
    job.refresh_from_db()
    assert job.file_name == "名册.csv" and len(list(_disk(job).parent.iterdir())) == 1


def test_file_names_are_safe(exporting_job, starter):
    job = _finished_export(starter, name="../../etc/全县\x01名册;rm -rf.CSV")
    assert job.file_name == "全县_名册_rm -rf.csv"
    assert safe_file_name("..\\a\x00b\n.xlsx") == "a_b.xlsx" and safe_file_name(".bashrc") == "bashrc"
    assert safe_file_name("") == "export" and len(safe_file_name("长" * 400 + ".csv")) == 150
    stored = Path(job.file.name)
    assert stored.parts[:2] == ("jobs", str(job.pk)) and stored.suffix == ".csv" and ".." not in stored.parts
    with pytest.raises(ValueError):
        attach_file(job, name="a.csv", content=b"x", content_type="text/csv\r\nX-Evil: 1")


def test_files_are_0600_and_folders_0700(exporting_job, starter, private_dir):
    old_umask = os.umask(0o022)
    try:
        job = _finished_export(starter)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(_disk(job).stat().st_mode) == 0o600
    for folder in (private_dir, private_dir / "jobs", _disk(job).parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_the_file_is_not_reachable_under_media_or_static(client, exporting_job, starter, settings, private_dir):
    job = _finished_export(starter)
    root = private_root()
    for served in (settings.MEDIA_ROOT, settings.STATIC_ROOT):
        served = Path(served).resolve()
        assert served not in root.parents and root not in served.parents and root != served
    client.force_login(starter)
    for prefix in ("/media/", "/static/", "/"):
        assert client.get(prefix + job.file.name).status_code == 404
        assert client.get(prefix + "private/" + job.file.name).status_code == 404
    with pytest.raises(ValueError):
        private_storage().url(job.file.name)
    # Caddy proxies everything to gunicorn and serves no folder itself.
    caddyfile = (Path(__file__).resolve().parents[3] / "deploy" / "Caddyfile").read_text()
    directives = [line.split()[0] for line in caddyfile.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert "reverse_proxy" in directives
    assert "file_server" not in directives and "root" not in directives


def test_a_private_folder_inside_media_is_refused(settings):
    settings.PRIVATE_FILES_DIR = Path(settings.MEDIA_ROOT) / "private"
    with pytest.raises(ImproperlyConfigured):
        private_root()
    settings.PRIVATE_FILES_DIR = Path(settings.STATIC_ROOT)
    with pytest.raises(ImproperlyConfigured):
        private_storage().path("jobs/1/x.csv")


def test_purging_a_job_deletes_its_file_and_orphans_are_removed(exporting_job, starter, settings):
    job = _finished_export(starter)
    on_disk = _disk(job)
    # An orphan: a file under the jobs folder that no row points to (an attempt rolled back).
    orphan = on_disk.parent.parent / "999999" / "abc.csv"
    orphan.parent.mkdir(mode=0o700)
    orphan.write_bytes(b"x")
    fresh_orphan = on_disk.parent / "being-attached.csv"
    fresh_orphan.write_bytes(b"y")
    hour_ago = (timezone.now() - datetime.timedelta(hours=2)).timestamp()
    os.utime(orphan, (hour_ago, hour_ago))
    os.utime(orphan.parent, (hour_ago, hour_ago))
    result = job_files_sweep()
    assert result == {"expired": 0, "orphans": 1}
    assert not orphan.exists() and fresh_orphan.exists() and on_disk.exists()

    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - datetime.timedelta(days=settings.RETENTION_JOBS_DAYS + 1))
    assert jobs_purge() == 1
    assert not on_disk.exists() and not Job.objects.filter(pk=job.pk).exists()


def test_the_sweep_is_on_beats_hourly_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["operations-sweep-job-files"]
    assert entry["task"] == "operations.sweep_job_files"
    assert entry["schedule"].hour == set(range(24)) and len(entry["schedule"].minute) == 1
    from operations.tasks import sweep_job_files_task

    assert sweep_job_files_task.name == "operations.sweep_job_files"


def test_the_finished_notice_links_to_the_job_page(exporting_job, starter):
    from notifications.models import Kind, Notification

    job = _finished_export(starter)
    notice = Notification.objects.filter(recipient=starter, kind=Kind.JOB_FINISHED).first()
    assert notice is not None and notice.link == reverse("operations:job-detail", args=[job.pk])
