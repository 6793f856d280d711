"""The dashboard warns the county when a health check fails, naming the checks in Chinese, and
says nothing when every check passes."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from clinics.models import Role
from operations.models import Heartbeat
from operations.tasks import heartbeat_task
from tests.factories import TownshipFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def all_healthy():
    """A worker that just beat and a beat that just ran a task: every check passes."""
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="operations-heartbeat", task="operations.heartbeat", interval=every,
                                last_run_at=timezone.now())  # fmt: skip
    heartbeat_task()
    return Heartbeat.objects.get(component="worker")


def test_a_stopped_worker_shows_a_warning_naming_the_check_in_chinese(client, roles, all_healthy, settings):
    Heartbeat.objects.filter(pk=all_healthy.pk).update(
        at=timezone.now() - datetime.timedelta(seconds=settings.HEALTH_WORKER_MAX_AGE_SECONDS + 60)
    )
    client.force_login(make_user(Role.COUNTY_ADMIN))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    health = response.context["dashboard"]["health"]
    assert [f["name"] for f in health["failed"]] == ["worker"]
    page = response.content.decode()
    assert 'id="panel-health"' in page
    assert "<strong>后台工作进程</strong>" in page  # the worker check, by its Chinese name
    assert "数据库" not in page.split('id="panel-health"')[1].split("</section>")[0]  # passing checks are not named
    assert "last worker heartbeat" not in page  # the operator's English detail stays on the health page
    assert reverse("health") in page


def test_no_warning_when_every_check_passes(client, roles, all_healthy):
    client.force_login(make_user(Role.COUNTY_ADMIN))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert response.context["dashboard"]["health"] is None
    assert 'id="panel-health"' not in response.content.decode()


def test_a_superuser_sees_the_warning_and_a_township_admin_does_not(client, roles, django_user_model):
    # No heartbeat and no beat run at all: worker and beat fail.
    boss = django_user_model.objects.create_superuser(username="boss", password="x-very-long-pass-1")
    client.force_login(boss)
    page = client.get(reverse("admin:index")).content.decode()
    assert "<strong>后台工作进程</strong>" in page and "<strong>定时调度（beat）</strong>" in page

    client.force_login(make_user(Role.TOWNSHIP_ADMIN, township=TownshipFactory()))
    response = client.get(reverse("admin:index"))
    assert response.context["dashboard"]["health"] is None
    assert 'id="panel-health"' not in response.content.decode()


def test_the_answer_is_cached_briefly_so_a_second_visit_runs_no_checks(client, roles, all_healthy, django_assert_max_num_queries):
    client.force_login(make_user(Role.COUNTY_ADMIN))
    with django_assert_max_num_queries(200) as first:
        client.get(reverse("admin:index"))
    with django_assert_max_num_queries(len(first.captured_queries)) as second:
        client.get(reverse("admin:index"))
    heartbeat_reads = [q for q in second.captured_queries if "operations_heartbeat" in q["sql"]]
    assert heartbeat_reads == []
    # Once the cache lapses the checks run again and see a worker that has since stopped.
    Heartbeat.objects.all().delete()
    cache.clear()
    response = client.get(reverse("admin:index"))
    assert [f["name"] for f in response.context["dashboard"]["health"]["failed"]] == ["worker"]
