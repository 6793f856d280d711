import pytest

from core.errors import Conflict
from core.jobs import JOBS, register_job


@pytest.fixture
def eager():
    """Tasks run in the calling process (CELERY_TASK_ALWAYS_EAGER), errors raised."""
    from config.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def counting_job():
    """A job function registered for the test: counts to params["n"], reporting each step; fails
    with a Chinese refusal when params["fail"]; records each call's attempt number."""
    calls = []

    @register_job("tests.count", label="数数")
    def count(*, params, progress, job):
        calls.append(job.attempts)
        total = params["n"]
        for done in range(1, total + 1):
            progress(done, total=total, note=f"第 {done} 项")
        if params.get("fail"):
            raise Conflict("第三项的数据不完整，请补齐后再开始。")
        if params.get("crash"):
            raise RuntimeError("connection to the bureau's server at 10.0.0.5 lost")
        return {"counted": total}

    yield calls
    JOBS.pop("tests.count", None)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="ops-admin", password="x-very-long-pass-1", is_staff=True)
