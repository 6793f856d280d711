"""Money-safety controls on bank accounts: a changed account is audited masked and told to the
doctor whatever path changed it; the next pay run warns for every doctor whose account changed
since their last paid run; approval needs those changes acknowledged, and records who did."""

import datetime
import json
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from clinics.models import Role
from core.models import AuditEntry
from notifications.models import Channel, Notification, NotificationTemplate
from notifications.seeding import seed_templates
from staffing.bank_accounts import BANK_ACCOUNT_CHANGE
from staffing.models import Doctor
from staffing.payroll import services
from staffing.payroll.models import PayRun
from staffing.payroll.selectors import bank_account_changes
from staffing.services.doctors import DOCTOR_FIELDS, doctor_update
from tests.conftest import api_as
from tests.factories import PostingFactory, clinic_with_doctors, make_user
from tests.payroll.conftest import NOV, OCT, run_month

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NEW_ACCOUNT = "6222020000001234"


def at(month, day, hour=9):
    return time_machine.travel(datetime.datetime(2026, month, day, hour, tzinfo=SHANGHAI), tick=False)


def change_form(doctor, **changes):
    """The admin change form of `doctor` as the browser posts it, with `changes` applied."""
    data = {
        "name": doctor.name, "sex": doctor.sex, "birth_date": doctor.birth_date, "id_number": doctor.id_number,
        "mobile": doctor.mobile, "qualification": doctor.qualification, "licence_number": doctor.licence_number,
        "licence_expiry": doctor.licence_expiry, "insurance_code": doctor.insurance_code, "status": doctor.status,
        "hire_date": doctor.hire_date, "bank_name": doctor.bank_name, "bank_account": doctor.bank_account,
        "user": doctor.user_id or "",
        "postings-TOTAL_FORMS": "0", "postings-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def all_audit_text() -> str:
    return json.dumps(list(AuditEntry.objects.values_list("changes", flat=True)), ensure_ascii=False)


def change_account(doctor, account, user=None, bank="中国工商银行"):
    doctor = Doctor.objects.get(pk=doctor.pk)
    return doctor_update(doctor=doctor, acting_user=user, bank_name=bank, bank_account=account)


# --- Every path that changes an account ------------------------------------------------------------


def test_admin_form_change_is_audited_masked_and_the_doctor_notified_at_the_old_mobile(client, county_admin):
    posting = PostingFactory(doctor__name="韦秀英")
    doctor = posting.doctor
    login = make_user(Role.VILLAGE_DOCTOR, doctor=doctor, username="weixiuying")
    old_account, old_mobile = doctor.bank_account, doctor.mobile
    client.force_login(county_admin)

    response = client.post(
        reverse("admin:staffing_doctor_change", args=[doctor.pk]),
        change_form(doctor, bank_name="中国工商银行", bank_account=NEW_ACCOUNT, mobile="13811112222", user=login.pk),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    doctor.refresh_from_db()
    assert doctor.bank_account == NEW_ACCOUNT
    update = AuditEntry.objects.get(action="doctor.update", object_id=str(doctor.pk))
    assert update.changes["bank_account"] == [f"****{old_account[-4:]}", "****1234"]
    assert update.actor == county_admin
    change = AuditEntry.objects.get(action=BANK_ACCOUNT_CHANGE, object_id=str(doctor.pk))
    assert change.changes["bank_account"] == [f"****{old_account[-4:]}", "****1234"]
    assert change.changes["bank_name"] == ["广西农村信用社", "中国工商银行"]
    assert change.changes["notified"] is True
    assert old_account not in all_audit_text() and NEW_ACCOUNT not in all_audit_text()

    rows = {n.channel: n for n in Notification.objects.filter(kind="bank_account_changed", recipient=login)}
    assert set(rows) == {Channel.IN_APP, Channel.SMS}
    # A change that also replaced the mobile must still reach the doctor: the SMS goes to the old one.
    assert rows[Channel.SMS].address == old_mobile
    body = rows[Channel.IN_APP].body
    assert "韦秀英" in body and "中国工商银行 ****1234" in body and f"****{old_account[-4:]}" in body
    assert NEW_ACCOUNT not in body and "如果不是您本人申请的变更" in body and "卫生院" in body
    assert rows[Channel.IN_APP].about == change


def test_admin_form_without_an_account_change_writes_no_bank_audit_or_message(client, county_admin):
    doctor = PostingFactory().doctor
    make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    client.force_login(county_admin)
    doctor.refresh_from_db()
    response = client.post(reverse("admin:staffing_doctor_change", args=[doctor.pk]), change_form(doctor, licence_number="LIC-NEW"))
    assert response.status_code == 302
    assert AuditEntry.objects.get(action="doctor.update", object_id=str(doctor.pk)).changes == {"licence_number": [doctor.licence_number, "LIC-NEW"]}
    assert not AuditEntry.objects.filter(action=BANK_ACCOUNT_CHANGE).exists()
    assert not Notification.objects.filter(kind="bank_account_changed").exists()


def test_import_row_change_is_audited_masked_and_notified(roles):
    """The doctor import updates a matched doctor with every column of the row through
    doctor_update; the same controls apply."""
    doctor = PostingFactory().doctor
    login = make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    importer = make_user(Role.COUNTY_ADMIN)
    old_account = doctor.bank_account
    row = {field: getattr(doctor, field) for field in DOCTOR_FIELDS if field not in ("status", "exit_date")}
    row.update(bank_name="中国农业银行", bank_account="6228480000009876")

    doctor_update(doctor=Doctor.objects.get(pk=doctor.pk), acting_user=importer, **row)

    change = AuditEntry.objects.get(action=BANK_ACCOUNT_CHANGE, object_id=str(doctor.pk))
    assert change.changes["bank_account"] == [f"****{old_account[-4:]}", "****9876"]
    assert change.actor == importer
    assert AuditEntry.objects.get(action="doctor.update").changes["bank_account"] == [f"****{old_account[-4:]}", "****9876"]
    assert "6228480000009876" not in all_audit_text()
    message = Notification.objects.get(kind="bank_account_changed", recipient=login, channel=Channel.IN_APP)
    assert "中国农业银行 ****9876" in message.body


def test_the_doctor_import_changing_an_account_is_audited_masked_and_notified(roles):
    """The import service end to end: a file with a matched doctor's new account."""
    from core.tabular import csv_text
    from staffing.importing import doctors_import

    doctor = PostingFactory().doctor
    login = make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    importer = make_user(Role.COUNTY_ADMIN)
    old_account = doctor.bank_account
    header = ["name", "sex", "birth_date", "id_number", "mobile", "qualification", "hire_date", "clinic_code", "bank_name", "bank_account"]
    line = [doctor.name, "男", doctor.birth_date.isoformat(), doctor.id_number, doctor.mobile, "乡村医生",
            doctor.hire_date.isoformat(), doctor.postings.get().facility.code, "中国建设银行", "6217000000005555"]

    report = doctors_import(upload=csv_text(header, [line]).encode("utf-8"), filename="doctors.csv", acting_user=importer)

    assert report.ok, report.errors
    doctor.refresh_from_db()
    assert doctor.bank_account == "6217000000005555"
    change = AuditEntry.objects.get(action=BANK_ACCOUNT_CHANGE, object_id=str(doctor.pk))
    assert change.changes["bank_account"] == [f"****{old_account[-4:]}", "****5555"] and change.actor == importer
    assert "6217000000005555" not in all_audit_text() and old_account not in all_audit_text()
    message = Notification.objects.get(kind="bank_account_changed", recipient=login, channel=Channel.IN_APP)
    assert "中国建设银行 ****5555" in message.body


def test_two_changes_of_one_account_are_two_messages(roles):
    doctor = PostingFactory().doctor
    login = make_user(Role.VILLAGE_DOCTOR, doctor=doctor)
    change_account(doctor, "6222020000001111")
    change_account(doctor, "6222020000002222")
    bodies = list(Notification.objects.filter(kind="bank_account_changed", recipient=login, channel=Channel.IN_APP).values_list("body", flat=True))
    assert len(bodies) == 2 and any("****2222" in b for b in bodies) and any("****1111" in b for b in bodies)


def test_a_doctor_without_a_login_is_audited_as_not_notified(roles):
    doctor = PostingFactory().doctor
    change_account(doctor, NEW_ACCOUNT)
    assert AuditEntry.objects.get(action=BANK_ACCOUNT_CHANGE).changes["notified"] is False
    assert not Notification.objects.exists()


def test_the_doctor_api_cannot_change_an_account(county_admin):
    """The only API on doctors is read-only: a write is refused and changes nothing."""
    doctor = PostingFactory().doctor
    client = api_as(county_admin)
    url = reverse("api:doctor-detail", args=[doctor.pk])
    for method in (client.patch, client.put):
        assert method(url, {"bank_account": NEW_ACCOUNT}, format="json").status_code == 405
    assert client.post(reverse("api:doctor-list"), {"bank_account": NEW_ACCOUNT}, format="json").status_code == 405
    doctor.refresh_from_db()
    assert doctor.bank_account != NEW_ACCOUNT
    assert not AuditEntry.objects.filter(action=BANK_ACCOUNT_CHANGE).exists()


def test_the_template_is_seeded_and_rendered_in_chinese(roles):
    NotificationTemplate.objects.filter(kind="bank_account_changed").delete()
    seed_templates({})
    assert NotificationTemplate.objects.get(kind="bank_account_changed").subject == "工资收款账户已变更"


# --- The pay run's warnings -----------------------------------------------------------------------


@pytest.fixture
def paid_october(policies, visits, county_admin):
    """Four doctors; A's account changed before October was calculated, C's after October was
    approved but before it was paid, B's after it was paid; D's never. Returns (run, doctors)."""
    _clinic, doctors = clinic_with_doctors(4)
    a, b, c, d = doctors
    with at(10, 20):
        change_account(a, "6222020000000001", county_admin)
    with at(11, 1):
        october = run_month(OCT, county_admin)
    with at(11, 3):
        change_a = bank_account_changes(run=october)
        assert [x.doctor_id for x in change_a] == [a.pk]
        services.payrun_approve(run=october, acting_user=county_admin, acknowledge_warnings=True,
                                acknowledged_bank_changes=[x.entry_id for x in change_a])
    with at(11, 4):
        change_account(c, "6222020000000003", county_admin)
    with at(11, 5):
        services.payrun_mark_paid(run=october, acting_user=county_admin)
    with at(11, 10):
        change_account(b, "6222020000000002", county_admin)
    return october, doctors


def test_the_next_run_warns_for_exactly_the_accounts_changed_since_the_last_paid_run(paid_october, county_admin):
    _october, (a, b, c, d) = paid_october
    with at(12, 1):
        november = run_month(NOV, county_admin)
    changes = bank_account_changes(run=november)
    # A changed before October was calculated, so October paid the new account already; C changed
    # after October's payslips took their accounts, so November is the first to pay C's new one.
    assert sorted(x.doctor_id for x in changes) == sorted([b.pk, c.pk])
    by_doctor = {x.doctor_id: x for x in changes}
    assert by_doctor[b.pk].old_account == f"****{b.bank_account[-4:]}" and by_doctor[b.pk].new_account == "****0002"
    assert by_doctor[b.pk].changed_by == county_admin.username
    assert by_doctor[b.pk].changed_at == datetime.datetime(2026, 11, 10, 9, tzinfo=SHANGHAI)
    assert by_doctor[b.pk].clinic == d.postings.get().facility.name
    assert not any(x.after_calculation for x in changes)


def test_approval_is_refused_without_the_acknowledgement_and_recorded_with_it(paid_october, county_admin):
    _october, (a, b, c, d) = paid_october
    with at(12, 1):
        november = run_month(NOV, county_admin)
    changes = bank_account_changes(run=november)

    with pytest.raises(ValidationError) as refused:
        services.payrun_approve(run=november, acting_user=county_admin, acknowledge_warnings=True)
    assert b.name in refused.value.messages[0] and c.name in refused.value.messages[0]
    with pytest.raises(ValidationError) as partly:
        services.payrun_approve(run=november, acting_user=county_admin, acknowledge_warnings=True,
                                acknowledged_bank_changes=[changes[0].entry_id])
    assert changes[1].doctor_name in partly.value.messages[0] and changes[0].doctor_name not in partly.value.messages[0]
    assert PayRun.objects.get(pk=november.pk).status == PayRun.Status.CALCULATED

    with at(12, 2, 15):
        services.payrun_approve(run=november, acting_user=county_admin, acknowledge_warnings=True,
                                acknowledged_bank_changes=[x.entry_id for x in changes])
    november.refresh_from_db()
    assert november.status == PayRun.Status.APPROVED
    assert november.bank_changes_acknowledged_by == county_admin
    assert november.bank_changes_acknowledged_at == datetime.datetime(2026, 12, 2, 15, tzinfo=SHANGHAI)
    recorded = {r["doctor_id"]: r for r in november.bank_changes_acknowledged}
    assert set(recorded) == {b.pk, c.pk}
    assert recorded[b.pk]["new_account"] == "****0002" and recorded[b.pk]["entry_id"] == next(x.entry_id for x in changes if x.doctor_id == b.pk)
    audit = AuditEntry.objects.get(action="payrun.bank_changes_acknowledge", object_id=str(november.pk))
    assert sorted(audit.changes["changes"]) == sorted(x.entry_id for x in changes) and audit.actor == county_admin
    assert AuditEntry.objects.get(action="payrun.approve", object_id=str(november.pk)).changes["bank_changes"] == 2


def test_a_run_without_account_changes_approves_as_before(policies, visits, county_admin):
    clinic_with_doctors(2)
    run = run_month(OCT, county_admin)
    assert bank_account_changes(run=run) == []
    services.payrun_approve(run=run, acting_user=county_admin, acknowledge_warnings=True)
    run.refresh_from_db()
    assert run.status == PayRun.Status.APPROVED and run.bank_changes_acknowledged == [] and run.bank_changes_acknowledged_at is None
    assert not AuditEntry.objects.filter(action="payrun.bank_changes_acknowledge").exists()


def test_an_account_changed_after_calculation_needs_the_run_calculated_again(policies, visits, county_admin):
    """The payslip took the account when the run was calculated; approving it would send the
    bank file to the old account, acknowledged or not."""
    _clinic, (a, _b) = clinic_with_doctors(2)
    with at(11, 1):
        run = run_month(OCT, county_admin)
    with at(11, 2):
        change_account(a, NEW_ACCOUNT, county_admin)
    changes = bank_account_changes(run=run)
    assert [x.after_calculation for x in changes] == [True]
    with pytest.raises(ValidationError) as refused:
        services.payrun_approve(run=run, acting_user=county_admin, acknowledge_warnings=True,
                                acknowledged_bank_changes=[changes[0].entry_id])
    assert a.name in refused.value.messages[0]
    with at(11, 3):
        run = services.payrun_calculate(run=run, acting_user=county_admin)
    assert run.payslips.get(doctor=a).bank_account == NEW_ACCOUNT
    services.payrun_approve(run=run, acting_user=county_admin, acknowledge_warnings=True,
                            acknowledged_bank_changes=[changes[0].entry_id])
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.APPROVED


def test_the_warnings_take_the_same_queries_however_many_accounts_changed(policies, visits, county_admin, django_assert_max_num_queries):
    _clinic, doctors = clinic_with_doctors(6)
    change_account(doctors[0], "6222020000000001")
    run = run_month(OCT, county_admin)
    with django_assert_max_num_queries(4) as few:
        assert len(bank_account_changes(run=run)) == 1
    for index, doctor in enumerate(doctors[1:], start=2):
        change_account(doctor, f"62220200000000{index:02d}")
    run = services.payrun_calculate(run=run, acting_user=county_admin)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(bank_account_changes(run=run)) == 6


# --- The admin approve step -----------------------------------------------------------------------


def test_admin_approve_step_lists_the_changes_and_needs_the_box_ticked(policies, visits, client, roles):
    officer = make_user(Role.PAYROLL_OFFICER, username="officer")
    _clinic, (a, _b) = clinic_with_doctors(2)
    change_account(a, NEW_ACCOUNT)
    run = run_month(OCT, officer)
    (change,) = bank_account_changes(run=run)
    client.force_login(officer)
    url = reverse("admin:payroll_payrun_approve", args=[run.pk])

    page = client.get(url).content.decode()
    assert 'id="bank-changes"' in page and "****1234" in page and NEW_ACCOUNT not in page
    assert reverse("admin:staffing_doctor_change", args=[a.pk]) in page
    assert 'name="bank_changes_checked"' in page

    refused = client.post(url, {"confirm": "yes", "bank_change": [change.entry_id]}, follow=True)
    assert refused.redirect_chain[-1][0] == url
    assert a.name in refused.content.decode()
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.CALCULATED
    assert client.post(url, {"confirm": "yes", "bank_change": ["x1", ""], "bank_changes_checked": "yes"}).status_code == 302
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.CALCULATED

    client.post(url, {"confirm": "yes", "bank_change": [change.entry_id], "bank_changes_checked": "yes"})
    run.refresh_from_db()
    assert run.status == PayRun.Status.APPROVED and run.bank_changes_acknowledged_by == officer
    change_page = client.get(reverse("admin:payroll_payrun_change", args=[run.pk])).content.decode()
    assert "****1234" in change_page and officer.username in change_page
