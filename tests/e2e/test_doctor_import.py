"""A township admin imports doctors in the browser: upload, read the preview, confirm, see the result."""

import datetime

import pytest

from clinics.models import Role
from core.tabular import csv_text
from staffing.models import Doctor
from tests.e2e.conftest import follow, shot
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory, TownshipFactory, make_id_number, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def township(settings, tmp_path):
    from clinics.roles import seed_roles

    settings.VAR_DIR = tmp_path
    seed_roles({})
    tongle = TownshipFactory(name="同乐镇", code="451028100")
    clinic = FacilityFactory(township=tongle, name="同乐村卫生室", code="451028100201")
    FacilityFactory(township=tongle, name="同乐二村卫生室", code="451028100202")
    doctor = PostingFactory(
        facility=clinic, doctor=DoctorFactory(name="韦同乐", bank_account="6230111100002222", mobile="13900001111")
    ).doctor
    make_user(Role.TOWNSHIP_ADMIN, township=tongle, username="tongle_admin")
    return doctor


def test_township_admin_previews_and_confirms_a_doctor_import(live_server, browser, township, tmp_path):
    doctor = township
    birth = datetime.date(1992, 4, 8)
    new_id = make_id_number(birth, 77, "F")
    columns = ["name", "sex", "birth_date", "id_number", "mobile", "qualification", "hire_date", "clinic_code", "bank_account"]
    rows = [
        [doctor.name, "男", doctor.birth_date.isoformat(), doctor.id_number, "13900002222", "乡村医生",
         doctor.hire_date.isoformat(), "451028100202", "6230555566667777"],
        ["黄新医", "女", birth.isoformat(), new_id, "13700007777", "乡村医生", "2026-01-01", "451028100201", "6228000011113333"],
    ]
    path = tmp_path / "doctors.csv"
    path.write_text(csv_text(columns, rows), encoding="utf-8")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/staffing/doctor/import/")
    page.fill("#id_username", "tongle_admin")
    page.fill("#id_password", "a-long-test-password-1")
    follow(page, "input[type=submit]")
    assert page.locator("#empty-cell-rule").is_visible()
    assert "清空" in page.locator("#empty-cell-rule").inner_text()
    assert page.locator("#import-columns tbody tr").count() == 13
    shot(page, "doctor-import-page")

    page.set_input_files("input[type=file]", str(path))
    follow(page, "#preview-import")
    preview = page.locator("#import-preview")
    assert preview.is_visible()
    updated = page.locator("tr[data-row='2']")
    assert "****2222" in updated.inner_text() and "****7777" in updated.inner_text()
    assert updated.locator(".bank-change").count() >= 1
    assert "同乐二村卫生室" in updated.locator("[data-field='posting']").inner_text()
    assert "13900001111" in updated.inner_text() and "13900002222" in updated.inner_text()
    assert "黄新医" in page.locator("tr[data-row='3']").inner_text()
    assert new_id not in page.content() and "6230555566667777" not in page.content()
    assert page.locator("#bank-change-count").is_visible()
    shot(page, "doctor-import-preview")
    doctor.refresh_from_db()
    assert doctor.bank_account == "6230111100002222", "the preview saved nothing"

    follow(page, "#confirm-import")
    assert page.url.endswith("/admin/staffing/doctor/")
    message = page.locator(".messagelist .success")
    assert message.is_visible()
    assert "1" in message.inner_text()
    assert "黄新医" in page.locator("#result_list").inner_text()
    shot(page, "doctor-import-result")
    doctor.refresh_from_db()
    assert doctor.bank_account == "6230555566667777" and doctor.mobile == "13900002222"
    assert Doctor.objects.filter(name="黄新医").count() == 1
    context.close()
