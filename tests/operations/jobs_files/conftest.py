import pytest

from core.jobs import JOBS, attach_file, register_job


@pytest.fixture(autouse=True)
def private_dir(settings, tmp_path):
    """Each test's private files in its own folder (beside, never inside, media and static)."""
    settings.PRIVATE_FILES_DIR = tmp_path / "private"
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.PRIVATE_FILES_DIR


@pytest.fixture
def exporting_job():
    """A job that writes one CSV file, its contents given in the parameters; `calls` records the
    attempt number of each run."""
    calls = []

    @register_job("tests.export", label="导出测试")
    def export(*, params, progress, job):
        calls.append(job.attempts)
        progress(1, total=1)
        attach_file(job, name=params.get("name", "名册.csv"), content=params["text"].encode(), content_type="text/csv; charset=utf-8")
        if params.get("crash_after_file") and job.attempts == 1:
            raise RuntimeError("the worker was lost after writing")
        return {"rows": 1}

    yield calls
    JOBS.pop("tests.export", None)
