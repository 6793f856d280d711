"""The health endpoint: 200 when every part works, 503 naming what does not; terse and
rate-limited for anonymous callers, detailed for staff; no secret in either."""

import datetime
import io
import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from operations.models import Heartbeat
from operations.selectors import health_summary
from operations.tasks import heartbeat_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def beat_ran():
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(name="operations-heartbeat", task="operations.heartbeat", interval=every,
                                       last_run_at=timezone.now())  # fmt: skip


@pytest.fixture
def worker_alive():
    heartbeat_task()
    return Heartbeat.objects.get(component="worker")


def test_all_checks_pass_with_a_live_worker_and_beat(client, beat_ran, worker_alive):
    response = client.get(reverse("health"))
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"] == {"database": "ok", "broker": "ok", "worker": "ok", "beat": "ok", "outbox": "ok"}


def test_a_stopped_worker_answers_503_naming_the_worker_check(client, beat_ran, worker_alive, settings, staff_user):
    Heartbeat.objects.filter(pk=worker_alive.pk).update(
        at=timezone.now() - datetime.timedelta(seconds=settings.HEALTH_WORKER_MAX_AGE_SECONDS + 60)
    )
    anonymous = client.get(reverse("health"))
    assert anonymous.status_code == 503
    assert anonymous.json()["failed"] == ["worker"]
    assert anonymous.json()["checks"]["worker"] == "failing" and anonymous.json()["checks"]["database"] == "ok"
    assert "heartbeat" not in anonymous.content.decode()  # anonymous callers see no figures

    client.force_login(staff_user)
    detailed = client.get(reverse("health"))
    assert detailed.status_code == 503
    worker = detailed.json()["checks"]["worker"]
    assert worker["ok"] is False and "last worker heartbeat" in worker["error"]
    assert detailed.json()["checks"]["database"]["ok"] is True and "latency_ms" in detailed.json()["checks"]["database"]
    print(json.dumps(detailed.json(), ensure_ascii=False, indent=1))  # the evidence for the issue

    # The dashboard reads the same through the selector.
    summary = health_summary()
    assert [f["name"] for f in summary["failed"]] == ["worker"]
    # A subset: the web container's own healthcheck asks only for the database.
    assert client.get(reverse("health"), {"only": "database"}).status_code == 200
    assert client.get(reverse("health"), {"only": "nonsense"}).status_code == 400


def test_no_heartbeat_at_all_fails_the_worker_and_no_beat_run_fails_beat(client):
    body = client.get(reverse("health")).json()
    assert set(body["failed"]) == {"worker", "beat"}


def test_beat_that_stopped_scheduling_fails_the_beat_check(client, beat_ran, worker_alive, settings):
    stale = timezone.now() - datetime.timedelta(seconds=settings.HEALTH_BEAT_MAX_AGE_SECONDS + 60)
    PeriodicTask.objects.filter(pk=beat_ran.pk).update(last_run_at=stale)
    Heartbeat.objects.filter(pk=worker_alive.pk).update(at=stale)  # no beat, no heartbeat task either
    response = client.get(reverse("health"))
    assert response.status_code == 503 and response.json()["failed"] == ["worker", "beat"]


def test_a_fresh_heartbeat_proves_beat_before_it_saved_its_last_run(client, worker_alive):
    # django-celery-beat writes last_run_at every few minutes; the heartbeat task came from beat.
    assert not PeriodicTask.objects.filter(last_run_at__isnull=False).exists()
    assert client.get(reverse("health")).json()["checks"]["beat"] == "ok"


def test_a_message_waiting_too_long_fails_the_outbox_check(client, beat_ran, worker_alive, settings, staff_user):
    from notifications.models import Notification

    late = timezone.now() - datetime.timedelta(seconds=settings.HEALTH_OUTBOX_MAX_DELAY_SECONDS + 120)
    Notification.objects.create(
        recipient=staff_user, channel="in_app", kind="consult_booked", content_type=ContentType.objects.get_for_model(staff_user),
        object_id=staff_user.pk, dedupe_key="now", due_at=late, next_attempt_at=late, subject="s", body="b",
    )  # fmt: skip
    client.force_login(staff_user)
    outbox = client.get(reverse("health")).json()["checks"]["outbox"]
    assert outbox["ok"] is False and outbox["error"].startswith("oldest due message waiting")


def test_an_unreachable_broker_fails_without_showing_its_password(client, beat_ran, worker_alive, staff_user, monkeypatch):
    from config.celery import app

    original = app.connection_for_write
    monkeypatch.setattr(app, "connection_for_write", lambda **kw: original(url="redis://:s3cret-pass@127.0.0.1:1/0"))
    client.force_login(staff_user)
    response = client.get(reverse("health"))
    assert response.status_code == 503 and response.json()["failed"] == ["broker"]
    assert "s3cret" not in response.content.decode() and "127.0.0.1" not in response.content.decode()


def test_anonymous_callers_are_rate_limited(client, settings, beat_ran, worker_alive):
    settings.HEALTH_ANONYMOUS_PER_MINUTE = 2
    assert client.get(reverse("health")).status_code == 200
    assert client.get(reverse("health")).status_code == 200
    assert client.get(reverse("health")).status_code == 429


def test_the_health_command_exits_non_zero_when_a_check_fails(beat_ran):
    out = io.StringIO()
    call_command("health", "--only", "database", stdout=out)
    assert json.loads(out.getvalue())["database"]["ok"] is True
    with pytest.raises(SystemExit) as exit_:
        call_command("health", "--only", "worker", stdout=io.StringIO())
    assert exit_.value.code == 1
