"""In Chromium: a county admin exports the whole doctor register; it runs as a task, the progress
page goes to 100 %, the download link appears and gives the file with the full numbers."""

import pytest

from clinics.models import Role
from core.models import Job
from tests.browser import follow, shot
from tests.factories import TownshipFactory, clinic_with_doctors, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def register(settings, tmp_path, monkeypatch):
    from clinics.roles import seed_roles

    settings.VAR_DIR = tmp_path
    settings.EXPORT_JOB_MIN_ROWS = 5
    settings.JOBS_PROGRESS_INTERVAL_SECONDS = 0
    seed_roles({})
    doctors = []
    for name in ("同乐镇", "长安镇"):
        township = TownshipFactory(name=name)
        for _ in range(2):
            doctors += clinic_with_doctors(2, township=township)[1]
    make_user(Role.COUNTY_ADMIN, username="county_admin")
    # No worker in the test: the job waits queued until the test runs it (as a worker would).
    queued = []
    monkeypatch.setattr("core.jobs._enqueue", queued.append)
    return doctors, queued


def test_county_admin_exports_the_register_as_a_task_and_downloads_it(live_server, browser, register):
    from core.jobs import run_job

    doctors, queued = register
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/staffing/doctor/")
    page.fill("#id_username", "county_admin")
    page.fill("#id_password", "a-long-test-password-1")
    follow(page, "input[type=submit]")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "export_csv")
    follow(page, "button[name=index]")

    job = Job.objects.get()
    assert page.url.endswith(f"/ops/jobs/{job.pk}/") and queued == [job.pk]
    assert page.locator("#job-bar").get_attribute("aria-valuenow") == "0"
    assert page.locator("#job-file-link").count() == 0
    shot(page, "job-export-queued")

    run_job(job.pk)  # the worker's part; the open page polls the state meanwhile
    job.refresh_from_db()
    page.wait_for_selector("#job-file-link", timeout=20_000)
    assert page.locator("#job-bar").get_attribute("aria-valuenow") == "100"
    assert "8 / 8" in page.locator("#job-counts").inner_text()
    assert page.locator("#job-file-name").inner_text().endswith(".csv")
    shot(page, "job-export-done")

    with page.expect_download() as info:
        page.click("#job-file-link")
    download = info.value
    text = open(download.path(), encoding="utf-8-sig").read()
    lines = text.strip().splitlines()
    assert len(lines) == 9 and lines[0].startswith("name,sex,birth_date,id_number")
    assert all(d.id_number in text and d.bank_account in text for d in doctors)  # the county admin's full numbers
    assert download.suggested_filename == job.file_name
    headers = context.request.get(f"{live_server.url}/ops/jobs/{job.pk}/file/").headers
    assert headers["content-disposition"] == f'attachment; filename="{job.file_name}"'
    assert "no-store" in headers["cache-control"]
    context.close()


def test_county_admin_confirms_publishing_rosters_of_two_townships(live_server, browser, settings, tmp_path, monkeypatch):
    import datetime

    from clinics.roles import seed_roles
    from staffing.rosters.models import RosterMonth
    from staffing.rosters.services.generation import roster_generate
    from staffing.rosters.services.holidays import holiday_year_load

    settings.VAR_DIR = tmp_path
    seed_roles({})
    holiday_year_load(year=2026)
    for name in ("同乐镇", "长安镇"):
        township = TownshipFactory(name=name)
        for doctor in clinic_with_doctors(2, township=township)[1]:
            make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    roster_generate(month=datetime.date(2026, 11, 1))
    make_user(Role.COUNTY_ADMIN, username="county_admin")
    monkeypatch.setattr("core.jobs._enqueue", lambda job_id: None)

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/rosters/rostermonth/")
    page.fill("#id_username", "county_admin")
    page.fill("#id_password", "a-long-test-password-1")
    follow(page, "input[type=submit]")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "publish")
    follow(page, "button[name=index]")
    assert page.locator("#publish-preview tbody tr").count() == 2
    assert "同乐镇" in page.locator("#publish-preview").inner_text()
    shot(page, "job-export-roster-publish-confirm")
    assert not RosterMonth.objects.filter(status="published").exists()
    follow(page, "input[type=submit][value]")
    job = Job.objects.get()
    assert page.url.endswith(f"/ops/jobs/{job.pk}/") and job.kind == "rosters.publish_selection"
    context.close()
