"""The doctor import as an attacker with a township admin's login would use it (issue 13), and the
rules every import follows now: reach per row, only what the file says, preview before saving."""

import datetime
import re

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from clinics.models import Role
from clinics.scoping import OUT_OF_REACH
from core.models import AuditEntry
from core.tabular import csv_text
from staffing.importing import IMPORT_COLUMNS, REQUIRED_IMPORT_COLUMNS, doctors_import
from staffing.models import Doctor, Posting
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory, TownshipFactory, make_id_number, make_user

pytestmark = pytest.mark.django_db
URL = "/admin/staffing/doctor/import/"


@pytest.fixture(autouse=True)
def pending_files_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def towns(roles):
    tongle = TownshipFactory(name="同乐镇", code="451028100")
    gantian = TownshipFactory(name="甘田镇", code="451028101")
    clinic_a = FacilityFactory(township=tongle, name="同乐村卫生室", code="451028100201")
    clinic_a2 = FacilityFactory(township=tongle, name="同乐二村卫生室", code="451028100202")
    clinic_b = FacilityFactory(township=gantian, name="甘田村卫生室", code="451028101201")
    doctor_a = PostingFactory(facility=clinic_a, doctor=DoctorFactory(name="同乐医生", bank_account="6230111100002222")).doctor
    doctor_b = PostingFactory(facility=clinic_b, doctor=DoctorFactory(name="甘田医生", bank_account="6230999900008888")).doctor
    return {
        "clinic_a": clinic_a,
        "clinic_a2": clinic_a2,
        "clinic_b": clinic_b,
        "doctor_a": doctor_a,
        "doctor_b": doctor_b,
        "admin_a": make_user(Role.TOWNSHIP_ADMIN, township=tongle, username="ta_tongle"),
        "county": make_user(Role.COUNTY_ADMIN, username="county_bureau"),
    }


def doctor_row(doctor, clinic, **overrides):
    values = {
        "name": doctor.name,
        "sex": "男" if doctor.sex == "M" else "女",
        "birth_date": doctor.birth_date.isoformat(),
        "id_number": doctor.id_number,
        "mobile": doctor.mobile,
        "qualification": doctor.qualification,
        "hire_date": doctor.hire_date.isoformat(),
        "clinic_code": clinic.code,
    }
    values.update(overrides)
    return values


def new_row(n, clinic, **overrides):
    birth = datetime.date(1990, 1, 1) + datetime.timedelta(days=n)
    values = {
        "name": f"新医生{n}",
        "sex": "男",
        "birth_date": birth.isoformat(),
        "id_number": make_id_number(birth, 400 + n, "M"),
        "mobile": f"1377700{n:04d}",
        "qualification": "乡村医生",
        "hire_date": "2026-01-01",
        "clinic_code": clinic.code,
        "bank_name": "农行",
        "bank_account": f"62280000{n:08d}",
    }
    values.update(overrides)
    return values


def csv_file(rows, columns=None):
    columns = columns or list(dict.fromkeys(c for r in rows for c in r))
    return csv_text(columns, [[r.get(c, "") for c in columns] for r in rows]).encode("utf-8")


def upload(client, data: bytes, name="doctors.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, "the preview page carries a confirmation token"
    return match.group(1)


def audit_rows(doctor):
    return AuditEntry.objects.filter(object_id=str(doctor.pk), action__startswith="doctor")


# --- Reach per row ------------------------------------------------------------------------------

def test_township_admin_cannot_redirect_another_townships_doctors_pay(client, towns):
    """The 甘田镇 attack: a 同乐镇 admin's file holds a 甘田镇 doctor's real ID number and a new
    bank account. Refused with the row number, nothing saved, nothing audited."""
    victim = towns["doctor_b"]
    attack = doctor_row(victim, towns["clinic_a"], bank_name="攻击银行", bank_account="6299000011112222")
    client.force_login(towns["admin_a"])

    response = upload(client, csv_file([new_row(1, towns["clinic_a"]), attack]))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="token"' not in page, "a file with a refused row offers nothing to confirm"
    errors = dict(re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", page))
    assert set(errors) == {"3"}
    assert "甘田医生" not in page, "the refusal does not tell whose ID number it is"
    report = doctors_import(upload=csv_file([new_row(1, towns["clinic_a"]), attack]), filename="d.csv", acting_user=towns["admin_a"])
    assert [n for n, _reason in report.errors] == [3] and OUT_OF_REACH in report.codes[3]
    victim.refresh_from_db()
    assert victim.bank_account == "6230999900008888" and victim.bank_name == "广西农村信用社"
    assert not audit_rows(victim).filter(action="doctor.update").exists()
    assert not Doctor.objects.filter(name="新医生1").exists(), "all or nothing: the good row is not saved either"
    assert Posting.objects.get(doctor=victim).facility == towns["clinic_b"]


def test_township_admin_cannot_create_a_doctor_in_another_townships_clinic(towns):
    row = new_row(2, towns["clinic_b"])
    report = doctors_import(upload=csv_file([row]), filename="d.csv", acting_user=towns["admin_a"])
    assert [n for n, _r in report.errors] == [2] and OUT_OF_REACH in report.codes[2]
    unknown = doctors_import(upload=csv_file([new_row(2, towns["clinic_b"], clinic_code="451028999999")]), filename="d.csv",
                             acting_user=towns["admin_a"])
    # The same words for a code outside reach and a code that does not exist.
    assert report.errors[0][1].replace(towns["clinic_b"].code, "X") == unknown.errors[0][1].replace("451028999999", "X")
    assert "甘田" not in report.errors[0][1]
    assert not Doctor.objects.filter(name="新医生2").exists()


def test_township_admin_cannot_move_a_doctor_to_another_township(towns):
    report = doctors_import(upload=csv_file([doctor_row(towns["doctor_a"], towns["clinic_b"])]), filename="d.csv",
                            acting_user=towns["admin_a"])
    assert [n for n, _r in report.errors] == [2]
    assert Posting.objects.get(doctor=towns["doctor_a"]).facility == towns["clinic_a"]


def test_a_move_between_townships_is_the_countys(towns):
    report = doctors_import(upload=csv_file([doctor_row(towns["doctor_a"], towns["clinic_b"])]), filename="d.csv",
                            acting_user=towns["county"])
    assert report.ok and report.updated == 1
    current = Posting.objects.get(doctor=towns["doctor_a"], end_date__isnull=True)
    assert current.facility == towns["clinic_b"] and current.start_date >= timezone.localdate()


def test_a_move_inside_the_township_starts_today_not_backdated(towns):
    report = doctors_import(upload=csv_file([doctor_row(towns["doctor_a"], towns["clinic_a2"])]), filename="d.csv",
                            acting_user=towns["admin_a"])
    assert report.ok and report.updated == 1
    old = Posting.objects.get(doctor=towns["doctor_a"], facility=towns["clinic_a"])
    assert old.end_date == timezone.localdate() - datetime.timedelta(days=1)


# --- Only what the file says --------------------------------------------------------------------

def test_a_file_with_only_the_required_columns_keeps_the_stored_optional_values(towns):
    doctor = towns["doctor_a"]
    before = Doctor.objects.values("bank_name", "bank_account", "licence_number", "licence_expiry", "insurance_code").get(pk=doctor.pk)
    row = doctor_row(doctor, towns["clinic_a"], mobile="13900001111")
    report = doctors_import(upload=csv_file([row], columns=REQUIRED_IMPORT_COLUMNS), filename="d.csv", acting_user=towns["admin_a"])
    assert report.ok and report.updated == 1
    after = Doctor.objects.values("bank_name", "bank_account", "licence_number", "licence_expiry", "insurance_code", "mobile").get(pk=doctor.pk)
    assert after.pop("mobile") == "13900001111"
    assert after == before and all(before.values())


def test_empty_optional_cells_keep_the_stored_values_too(towns):
    doctor = towns["doctor_a"]
    row = doctor_row(doctor, towns["clinic_a"], bank_name="", bank_account="", licence_number="", licence_expiry="", insurance_code="")
    report = doctors_import(upload=csv_file([row], columns=IMPORT_COLUMNS), filename="d.csv", acting_user=towns["admin_a"])
    assert report.ok and report.unchanged == 1 and report.updated == 0
    doctor.refresh_from_db()
    assert doctor.bank_account == "6230111100002222" and doctor.licence_expiry and doctor.insurance_code
    assert not audit_rows(doctor).filter(action="doctor.update").exists()


def test_clear_word_clears_an_optional_value_and_not_a_required_one(towns):
    doctor = towns["doctor_a"]
    report = doctors_import(
        upload=csv_file([doctor_row(doctor, towns["clinic_a"], licence_expiry="清空", insurance_code="CLEAR", licence_number="clear")]),
        filename="d.csv", acting_user=towns["admin_a"],
    )
    assert report.ok and report.updated == 1
    doctor.refresh_from_db()
    assert doctor.licence_expiry is None and doctor.insurance_code is None and doctor.licence_number == ""
    refused = doctors_import(upload=csv_file([doctor_row(doctor, towns["clinic_a"], mobile="清空")]), filename="d.csv",
                             acting_user=towns["admin_a"])
    assert [n for n, _r in refused.errors] == [2] and "not_clearable" in refused.codes[2]


def test_a_new_doctor_needs_every_required_column(towns):
    report = doctors_import(upload=csv_file([new_row(3, towns["clinic_a"], mobile="")]), filename="d.csv", acting_user=towns["admin_a"])
    assert [n for n, _r in report.errors] == [2]
    assert not Doctor.objects.filter(name="新医生3").exists()


# --- Preview, confirm, cancel -------------------------------------------------------------------

def test_preview_shows_old_and_new_masked_and_saves_nothing(client, towns):
    doctor = towns["doctor_a"]
    client.force_login(towns["admin_a"])
    rows = [doctor_row(doctor, towns["clinic_a2"], bank_account="6230555566667777", mobile="13900002222"), new_row(4, towns["clinic_a"])]
    response = upload(client, csv_file(rows))
    page = response.content.decode()
    assert response.status_code == 200 and 'name="token"' in page
    assert "****2222" in page and "****7777" in page, "old and new bank accounts, masked"
    assert "6230555566667777" not in page and "6230111100002222" not in page
    assert doctor.mobile in page and "13900002222" in page
    assert 'class="bank-change"' in page and 'id="bank-change-count"' in page
    assert "同乐村卫生室" in page and "同乐二村卫生室" in page, "the posting move is shown"
    assert new_row(4, towns["clinic_a"])["id_number"] not in page, "a new doctor's ID number is masked"
    doctor.refresh_from_db()
    assert doctor.bank_account == "6230111100002222" and doctor.mobile != "13900002222"
    assert not Doctor.objects.filter(name="新医生4").exists()
    assert not audit_rows(doctor).filter(action="doctor.update").exists()
    assert Posting.objects.filter(doctor=doctor).count() == 1


def test_confirm_saves_once_and_a_double_submit_imports_nothing_more(client, towns):
    doctor = towns["doctor_a"]
    client.force_login(towns["admin_a"])
    token = token_of(upload(client, csv_file([doctor_row(doctor, towns["clinic_a"], bank_account="6230555566667777"), new_row(5, towns["clinic_a"])])))

    response = client.post(URL, {"token": token, "action": "confirm"})
    assert response.status_code == 302 and response.url == reverse("admin:staffing_doctor_changelist")
    doctor.refresh_from_db()
    assert doctor.bank_account == "6230555566667777"
    assert Doctor.objects.filter(name="新医生5").count() == 1
    updates = audit_rows(doctor).filter(action="doctor.update").count()

    again = client.post(URL, {"token": token, "action": "confirm"})
    assert again.status_code == 302 and again.url == URL
    assert Doctor.objects.filter(name="新医生5").count() == 1
    assert audit_rows(doctor).filter(action="doctor.update").count() == updates


def test_cancel_saves_nothing_and_the_token_is_spent(client, towns):
    client.force_login(towns["admin_a"])
    token = token_of(upload(client, csv_file([new_row(6, towns["clinic_a"])])))
    assert client.post(URL, {"token": token, "action": "cancel"}).status_code == 302
    assert client.post(URL, {"token": token, "action": "confirm"}).status_code == 302
    assert not Doctor.objects.filter(name="新医生6").exists()


def test_confirm_checks_reach_again(client, towns):
    """Between preview and confirm the county moves the doctor to 甘田镇: the confirm refuses."""
    from staffing.services.postings import posting_move

    doctor = towns["doctor_a"]
    client.force_login(towns["admin_a"])
    token = token_of(upload(client, csv_file([doctor_row(doctor, towns["clinic_a"], bank_account="6230555566667777")])))
    posting_move(doctor=doctor, facility=towns["clinic_b"], start_date=timezone.localdate() - datetime.timedelta(days=1),
                 acting_user=towns["county"])

    response = client.post(URL, {"token": token, "action": "confirm"})
    assert response.status_code == 200 and 'id="import-errors"' in response.content.decode()
    doctor.refresh_from_db()
    assert doctor.bank_account == "6230111100002222"


def test_confirm_with_stored_data_changed_since_the_preview_previews_again(client, towns):
    from staffing.services.doctors import doctor_update

    doctor = towns["doctor_a"]
    client.force_login(towns["admin_a"])
    token = token_of(upload(client, csv_file([doctor_row(doctor, towns["clinic_a"], mobile="13900003333")])))
    doctor_update(doctor=doctor, acting_user=towns["county"], bank_name="另一家银行")
    doctor_update(doctor=doctor, acting_user=towns["county"], mobile="13900004444")

    response = client.post(URL, {"token": token, "action": "confirm"})
    assert response.status_code == 200 and token_of(response) != token
    doctor.refresh_from_db()
    assert doctor.mobile == "13900004444"


@pytest.mark.parametrize("attack", ["tampered", "other_user", "expired", "garbage"])
def test_a_bad_token_is_refused_and_saves_nothing(client, towns, attack, settings, time_machine):
    client.force_login(towns["admin_a"])
    token = token_of(upload(client, csv_file([new_row(7, towns["clinic_a"])])))
    if attack == "tampered":
        payload = signing.loads(token, salt="core.imports.pending.staffing.doctor_import")
        payload["u"] = towns["county"].pk
        token = signing.dumps(payload, salt="wrong-salt", compress=True)
    elif attack == "other_user":
        other = make_user(Role.TOWNSHIP_ADMIN, township=towns["clinic_a"].township, username="ta_tongle_2")
        client.force_login(other)
    elif attack == "expired":
        time_machine.move_to(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=settings.IMPORT_PREVIEW_SECONDS + 5))
        client.force_login(towns["admin_a"])
    else:
        token = "not-a-token"
    response = client.post(URL, {"token": token, "action": "confirm"})
    assert response.status_code == 302 and response.url == URL
    assert not Doctor.objects.filter(name="新医生7").exists()


def test_the_stored_file_is_owner_only_and_gone_after_confirm(client, towns, settings):
    client.force_login(towns["admin_a"])
    token = token_of(upload(client, csv_file([new_row(8, towns["clinic_a"])])))
    files = list((settings.VAR_DIR / "imports").iterdir())
    assert len(files) == 1 and files[0].stat().st_mode & 0o077 == 0
    client.post(URL, {"token": token, "action": "confirm"})
    assert not list((settings.VAR_DIR / "imports").iterdir())


def test_the_import_page_explains_columns_and_the_empty_cell_rule(client, towns):
    client.force_login(towns["admin_a"])
    page = client.get(URL).content.decode()
    assert 'id="empty-cell-rule"' in page and "清空" in page
    for column in IMPORT_COLUMNS:
        assert f"<code>{column}</code>" in page


def test_the_settlement_upload_page_states_the_rule_for_new_rows(client, towns):
    from core.imports import empty_cell_rule

    client.force_login(towns["county"])
    page = client.get(reverse("admin:settlements_settlementimport_upload")).content.decode()
    assert 'id="empty-cell-rule"' in page and empty_cell_rule("new") in page


def test_concurrent_confirmations_claim_the_file_once(towns):
    """Two tabs (or a double click) confirming at the same moment: one claim wins, the rest are refused."""
    import threading

    from core.imports import PendingUploadError, pending_upload_claim, pending_upload_store

    user = towns["admin_a"]
    token = pending_upload_store(data=b"name\n", filename="d.csv", user=user, purpose="test")
    results, start = [], threading.Barrier(8)

    def claim():
        start.wait()
        try:
            results.append(pending_upload_claim(token=token, user=user, purpose="test").data)
        except PendingUploadError:
            results.append(None)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=bool) == [None] * 7 + [b"name\n"]


def test_an_upload_over_the_size_limit_is_refused_before_any_preview(client, towns, settings):
    settings.UPLOAD_MAX_BYTES = 2000
    client.force_login(towns["admin_a"])
    rows = [new_row(n, towns["clinic_a"]) for n in range(20, 60)]
    response = upload(client, csv_file(rows))
    assert response.status_code == 200 and 'name="token"' not in response.content.decode()
    assert "UPLOAD_MAX_BYTES" in response.content.decode()
    assert not (settings.VAR_DIR / "imports").exists() or not list((settings.VAR_DIR / "imports").iterdir())
