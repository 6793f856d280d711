import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinics.models import AuditEntry, Role
from staffing.models import Posting
from staffing.services import doctor_create, doctor_update, posting_move, posting_open
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory, make_id_number, make_user

pytestmark = pytest.mark.django_db


def test_database_allows_only_one_open_posting_per_doctor():
    posting = PostingFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Posting.objects.create(doctor=posting.doctor, facility=FacilityFactory(), start_date=datetime.date(2024, 1, 1))


def test_opening_a_second_posting_gives_a_friendly_message():
    posting = PostingFactory()
    with pytest.raises(ValidationError) as excinfo:
        posting_open(doctor=posting.doctor, facility=FacilityFactory(), start_date=datetime.date(2024, 1, 1), acting_user=None)
    assert posting.facility.name in str(excinfo.value)


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
