import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinics.models import Role
from core.models import AuditEntry
from staffing.models import Posting
from staffing.services.doctors import doctor_create, doctor_update
from staffing.services.postings import posting_move
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory, make_id_number, make_user

pytestmark = pytest.mark.django_db


def test_database_allows_only_one_open_posting_per_doctor():
    posting = PostingFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Posting.objects.create(doctor=posting.doctor, facility=FacilityFactory(), start_date=datetime.date(2024, 1, 1))


def test_moving_a_doctor_closes_the_old_posting_and_audits_it(roles):
    posting = PostingFactory()
    admin = make_user(Role.COUNTY_ADMIN)
    new_clinic = FacilityFactory()

    new = posting_move(doctor=posting.doctor, facility=new_clinic, start_date=datetime.date(2026, 3, 1), acting_user=admin)

    posting.refresh_from_db()
    assert posting.end_date == datetime.date(2026, 2, 28)
    assert new.facility == new_clinic and new.end_date is None
    actions = list(AuditEntry.objects.filter(actor=admin).values_list("action", flat=True))
    assert "posting.close" in actions and "posting.open" in actions


def test_moving_keeps_the_doctors_login_reach_on_the_new_clinic(roles):
    posting = PostingFactory()
    user = make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor)
    new_clinic = FacilityFactory()
    posting_move(doctor=posting.doctor, facility=new_clinic, start_date=datetime.date(2026, 3, 1), acting_user=None)
    user.scope.refresh_from_db()
    assert user.scope.facility == new_clinic


def test_doctor_with_birth_date_not_matching_id_is_refused_in_chinese():
    with pytest.raises(ValidationError) as excinfo:
        doctor_create(
            acting_user=None,
            name="测试",
            sex="M",
            birth_date=datetime.date(1990, 1, 1),
            id_number=make_id_number(datetime.date(1980, 1, 1), 1, "M"),
            mobile="13900000000",
            qualification="village_doctor",
            hire_date=datetime.date(2020, 1, 1),
        )
    assert "出生日期" in " ".join(excinfo.value.message_dict["birth_date"])


def test_doctor_sex_must_match_the_17th_digit():
    with pytest.raises(ValidationError) as excinfo:
        doctor_create(
            acting_user=None,
            name="测试",
            sex="F",
            birth_date=datetime.date(1980, 1, 1),
            id_number=make_id_number(datetime.date(1980, 1, 1), 1, "M"),
            mobile="13900000000",
            qualification="village_doctor",
            hire_date=datetime.date(2020, 1, 1),
        )
    assert "sex" in excinfo.value.message_dict


def test_exit_date_closes_the_open_posting_and_audit_hides_the_bank_account(roles):
    posting = PostingFactory()
    old_account = posting.doctor.bank_account
    doctor_update(doctor=posting.doctor, acting_user=None, exit_date=datetime.date(2026, 6, 30), bank_account="6230999")
    posting.refresh_from_db()
    assert posting.end_date == datetime.date(2026, 6, 30)
    entry = AuditEntry.objects.filter(action="doctor.update").latest("at")
    assert entry.changes["bank_account"] == [f"****{old_account[-4:]}", "****0999"]  # masked (staffing.bank_accounts)


@pytest.mark.postgres
def test_postgres_refuses_overlapping_postings_even_without_the_service():
    posting = PostingFactory(end_date=datetime.date(2025, 12, 31))
    with pytest.raises(IntegrityError), transaction.atomic():
        Posting.objects.create(
            doctor=posting.doctor, facility=FacilityFactory(), start_date=datetime.date(2025, 6, 1), end_date=datetime.date(2025, 7, 1)
        )


def test_keyed_hash_is_stored_and_not_the_plain_number():
    doctor = DoctorFactory()
    assert doctor.id_number_hash and doctor.id_number not in doctor.id_number_hash


# --- a posting's end is not back-dated over an approved or paid month (red-team hole 2b) ----------

def _released_payslip(posting, month: datetime.date, status: str):
    from decimal import Decimal

    from staffing.payroll.models import PayRun, Payslip

    run = PayRun.objects.create(month=month, township=posting.facility.township, status=PayRun.Status.CALCULATED)
    Payslip.objects.create(
        run=run, doctor=posting.doctor, month=month, facility=posting.facility, township=posting.facility.township,
        payable_days=31, days_in_month=31, gross=Decimal("3000.00"), deductions=Decimal("0.00"), net=Decimal("3000.00"),
    )
    PayRun.objects.filter(pk=run.pk).update(status=status)
    return run


@pytest.mark.parametrize("status", ["approved", "paid"])
def test_posting_close_refuses_an_end_inside_or_before_a_released_pay_month(roles, status):
    from staffing.services.postings import posting_close

    posting = PostingFactory(facility=FacilityFactory())
    _released_payslip(posting, datetime.date(2026, 10, 1), status)
    admin = make_user(Role.TOWNSHIP_ADMIN, township=posting.facility.township)
    for end in (datetime.date(2026, 10, 15), datetime.date(2026, 9, 30)):
        with pytest.raises(ValidationError) as excinfo:
            posting_close(posting=posting, end_date=end, acting_user=admin)
        assert "end_date" in excinfo.value.message_dict
        assert "2026-10-31" in excinfo.value.message_dict["end_date"][0]
    posting.refresh_from_db()
    assert posting.end_date is None
    posting_close(posting=posting, end_date=datetime.date(2026, 10, 31), acting_user=admin)  # the month's last day is fine
    posting.refresh_from_db()
    assert posting.end_date == datetime.date(2026, 10, 31)


def test_posting_close_is_not_held_by_a_run_still_in_calculation(roles):
    from staffing.services.postings import posting_close

    posting = PostingFactory(facility=FacilityFactory())
    _released_payslip(posting, datetime.date(2026, 10, 1), "calculated")
    posting_close(posting=posting, end_date=datetime.date(2026, 10, 15), acting_user=None)
    posting.refresh_from_db()
    assert posting.end_date == datetime.date(2026, 10, 15)


def test_a_paid_month_of_a_later_posting_does_not_hold_an_earlier_one(roles):
    from staffing.services.postings import posting_close

    first = PostingFactory(facility=FacilityFactory(), end_date=datetime.date(2026, 6, 30))
    later = PostingFactory(doctor=first.doctor, facility=FacilityFactory(township=first.facility.township),
                           start_date=datetime.date(2026, 7, 1))
    _released_payslip(later, datetime.date(2026, 10, 1), "paid")
    posting_close(posting=first, end_date=datetime.date(2026, 5, 31), acting_user=None)
    first.refresh_from_db()
    assert first.end_date == datetime.date(2026, 5, 31)


def test_admin_posting_close_over_a_paid_month_is_a_form_error(client, roles):
    from django.urls import reverse

    posting = PostingFactory(facility=FacilityFactory())
    _released_payslip(posting, datetime.date(2026, 10, 1), "paid")
    client.force_login(make_user(Role.TOWNSHIP_ADMIN, township=posting.facility.township))
    client.raise_request_exception = False
    response = client.post(reverse("admin:staffing_posting_change", args=[posting.pk]), {"end_date": "2026-10-01"})
    assert response.status_code == 200
    assert "end_date" in response.context["adminform"].form.errors
    posting.refresh_from_db()
    assert posting.end_date is None


# --- a doctor's login is changed through a service, audited (red-team hole 1) ---------------------

def test_doctor_link_user_audits_old_and_new_username_and_moves_the_login(roles):
    from staffing.services.logins import doctor_link_user

    posting = PostingFactory(facility=FacilityFactory())
    old = make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor, username="vd_old")
    elsewhere = FacilityFactory(township=posting.facility.township)
    new = make_user(Role.VILLAGE_DOCTOR, facility=elsewhere, username="vd_new")
    admin = make_user(Role.TOWNSHIP_ADMIN, township=posting.facility.township)

    doctor_link_user(doctor=posting.doctor, user=new, acting_user=admin)

    posting.doctor.refresh_from_db()
    assert posting.doctor.user == new
    entry = AuditEntry.objects.filter(action="doctor.link_user", actor=admin).get()
    assert entry.changes == {"user": [old.username, new.username]}
    new.scope.refresh_from_db()
    assert new.scope.facility == posting.facility  # the login follows the posting in force


@pytest.mark.parametrize("kind", ["admin_account", "out_of_reach", "another_doctors"])
def test_doctor_link_user_refuses_an_account_that_cannot_be_the_doctors(roles, kind):
    from staffing.services.logins import doctor_link_user

    posting = PostingFactory(facility=FacilityFactory())
    township = posting.facility.township
    admin = make_user(Role.TOWNSHIP_ADMIN, township=township)
    if kind == "admin_account":
        account = make_user(Role.TOWNSHIP_ADMIN, township=township)
    elif kind == "out_of_reach":
        account = make_user(Role.VILLAGE_DOCTOR, facility=FacilityFactory())  # another township's clinic
    else:
        other = PostingFactory(facility=FacilityFactory(township=township)).doctor
        account = make_user(Role.VILLAGE_DOCTOR, doctor=other)
    with pytest.raises(ValidationError) as excinfo:
        doctor_link_user(doctor=posting.doctor, user=account, acting_user=admin)
    assert "user" in excinfo.value.message_dict
    posting.doctor.refresh_from_db()
    assert posting.doctor.user_id is None
    assert not AuditEntry.objects.filter(action="doctor.link_user").exists()


def test_admin_doctor_change_with_an_out_of_reach_login_is_a_form_error(client, roles):
    from django.urls import reverse

    from tests.security.test_redteam import form_data

    posting = PostingFactory(facility=FacilityFactory())
    client.force_login(make_user(Role.TOWNSHIP_ADMIN, township=posting.facility.township))
    url = reverse("admin:staffing_doctor_change", args=[posting.doctor.pk])
    data = form_data(client.get(url))
    data["user"] = str(make_user(Role.VILLAGE_DOCTOR, facility=FacilityFactory()).pk)  # another township's login
    client.raise_request_exception = False
    response = client.post(url, data)
    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    posting.doctor.refresh_from_db()
    assert posting.doctor.user_id is None


def test_admin_demo_flag_change_is_audited(client, roles):
    from django.urls import reverse

    from tests.security.test_redteam import form_data

    posting = PostingFactory(facility=FacilityFactory())
    client.force_login(make_user(Role.COUNTY_ADMIN))
    url = reverse("admin:staffing_doctor_change", args=[posting.doctor.pk])
    data = form_data(client.get(url))
    data["is_demo"] = "on"
    assert client.post(url, data).status_code == 302
    posting.doctor.refresh_from_db()
    assert posting.doctor.is_demo
    assert AuditEntry.objects.filter(action="doctor.update", changes__is_demo=[False, True]).exists()
