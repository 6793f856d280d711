"""Reach on the write paths and reach that follows the posting in force (issue 13).

Two townships, A and B. Every attack is a township admin of A (or a clinic login) writing about a
doctor, clinic or consultant of B, or moving a doctor across the boundary; each is refused with the
code "out_of_reach", changes nothing and leaves no audit row. Reads follow the posting in force:
a doctor who moved away leaves the old township's lists, a future hire is in the new township's."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clinics.models import Role
from clinics.scoping import OUT_OF_REACH
from core.models import AuditEntry
from staffing.models import Doctor, Posting
from staffing.reach import doctor_in_reach
from staffing.selectors import doctor_list
from staffing.services import doctors, logins, postings
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory, TownshipFactory, make_id_number, make_user

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


@pytest.fixture
def county(roles):
    return TownshipFactory(name="甲乡"), TownshipFactory(name="乙乡")


@pytest.fixture
def world(county):
    a, b = county
    a1 = FacilityFactory(township=a, name="甲一村卫生室")
    a2 = FacilityFactory(township=a, name="甲二村卫生室")
    b1 = FacilityFactory(township=b, name="乙一村卫生室")
    return {
        "a": a,
        "b": b,
        "a1": a1,
        "a2": a2,
        "b1": b1,
        "doctor_a": PostingFactory(facility=a1, doctor=DoctorFactory(name="甲医生")).doctor,
        "doctor_b": PostingFactory(facility=b1, doctor=DoctorFactory(name="乙医生")).doctor,
        "admin_a": make_user(Role.TOWNSHIP_ADMIN, township=a, username="ta_a"),
        "admin_b": make_user(Role.TOWNSHIP_ADMIN, township=b, username="ta_b"),
        "county": make_user(Role.COUNTY_ADMIN, username="county"),
    }


def assert_out_of_reach(excinfo) -> None:
    codes = [e.code for errors in excinfo.value.error_dict.values() for e in errors] if hasattr(
        excinfo.value, "error_dict"
    ) else [e.code for e in excinfo.value.error_list]
    assert OUT_OF_REACH in codes, codes


def audit_rows(user) -> list[str]:
    return list(AuditEntry.objects.filter(actor=user).values_list("action", flat=True))


def postings_of(doctor) -> list[tuple]:
    return list(Posting.objects.filter(doctor=doctor).order_by("start_date").values_list("facility_id", "start_date", "end_date"))


# --- Postings: opening and moving ----------------------------------------------------------------


def test_township_admin_cannot_move_another_townships_doctor_into_his_clinic(world):
    before = postings_of(world["doctor_b"])
    with pytest.raises(ValidationError) as excinfo:
        postings.posting_move(doctor=world["doctor_b"], facility=world["a1"], start_date=TODAY + DAY, acting_user=world["admin_a"])
    assert_out_of_reach(excinfo)
    assert postings_of(world["doctor_b"]) == before
    assert audit_rows(world["admin_a"]) == []


def test_township_admin_cannot_post_his_own_doctor_into_another_township(world):
    before = postings_of(world["doctor_a"])
    with pytest.raises(ValidationError) as excinfo:
        postings.posting_move(doctor=world["doctor_a"], facility=world["b1"], start_date=TODAY + DAY, acting_user=world["admin_a"])
    assert_out_of_reach(excinfo)
    assert postings_of(world["doctor_a"]) == before and audit_rows(world["admin_a"]) == []

    # The county health bureau makes the transfer.
    moved = postings.posting_move(doctor=world["doctor_a"], facility=world["b1"], start_date=TODAY + DAY, acting_user=world["county"])
    assert moved.facility == world["b1"]
    assert Posting.objects.get(doctor=world["doctor_a"], facility=world["a1"]).end_date == TODAY


def test_posting_move_check_refuses_out_of_reach_before_telling_anything_about_postings(world):
    # The doctor already works at b1; an out-of-reach user learns only that the doctor is out of reach.
    with pytest.raises(ValidationError) as excinfo:
        postings.posting_move_check(doctor=world["doctor_b"], facility=world["b1"], start_date=TODAY, acting_user=world["admin_a"])
    assert_out_of_reach(excinfo)


def test_township_admin_moves_his_doctor_within_his_township(world):
    moved = postings.posting_move(doctor=world["doctor_a"], facility=world["a2"], start_date=TODAY, acting_user=world["admin_a"])
    assert moved.facility == world["a2"]
    assert doctor_in_reach(world["admin_a"], world["doctor_a"])
    assert {"posting.close", "posting.open"} <= set(audit_rows(world["admin_a"]))


def test_a_move_between_townships_is_refused_even_when_the_doctor_is_still_in_reach_by_an_upcoming_posting(world):
    """A future hire of A, reached through the upcoming posting, cannot be redirected to B."""
    hire = DoctorFactory(hire_date=TODAY + 10 * DAY)
    PostingFactory(doctor=hire, facility=world["a1"])
    assert doctor_in_reach(world["admin_a"], hire)
    with pytest.raises(ValidationError) as excinfo:
        postings.posting_move(doctor=hire, facility=world["b1"], start_date=TODAY + 20 * DAY, acting_user=world["admin_a"])
    assert_out_of_reach(excinfo)


def test_township_admin_cannot_end_another_townships_posting(world):
    posting = Posting.objects.get(doctor=world["doctor_b"])
    with pytest.raises(ValidationError) as excinfo:
        postings.posting_close(posting=posting, end_date=TODAY, acting_user=world["admin_a"])
    assert_out_of_reach(excinfo)
    posting.refresh_from_db()
    assert posting.end_date is None and audit_rows(world["admin_a"]) == []


def test_a_posting_cannot_be_extended_over_the_doctors_next_posting(world):
    """Extending an ended posting into the next one would put the doctor at two clinics (and give
    the old township its reach back)."""
    postings.posting_move(doctor=world["doctor_a"], facility=world["b1"], start_date=TODAY - 30 * DAY, acting_user=world["county"])
    old = Posting.objects.get(doctor=world["doctor_a"], facility=world["a1"])
    with pytest.raises(ValidationError) as excinfo:
        postings.posting_close(posting=old, end_date=TODAY + 30 * DAY, acting_user=world["county"])
    assert "end_date" in excinfo.value.message_dict
    old.refresh_from_db()
    assert old.end_date == TODAY - 31 * DAY
    # A's admin may not touch the old posting at all: the doctor is no longer his.
    with pytest.raises(ValidationError) as excinfo:
        postings.posting_close(posting=old, end_date=TODAY - 40 * DAY, acting_user=world["admin_a"])
    assert_out_of_reach(excinfo)


def test_closing_a_posting_audits_the_stored_end_date_as_the_old_value(world):
    posting = Posting.objects.get(doctor=world["doctor_a"])
    posting.end_date = TODAY + 60 * DAY  # as an admin form leaves the instance before saving
    postings.posting_close(posting=posting, end_date=TODAY + 60 * DAY, acting_user=world["admin_a"])
    entry = AuditEntry.objects.filter(action="posting.close", object_id=str(posting.pk)).latest("pk")
    assert entry.changes["end_date"] == [None, str(TODAY + 60 * DAY)]


def test_a_posting_end_is_not_back_dated_over_published_duties(world):
    from tests.payroll.conftest import publish_roster

    month = datetime.date(2026, 10, 1)
    publish_roster(world["a1"], month, [(world["doctor_a"], datetime.date(2026, 10, 17), "weekend")])
    posting = Posting.objects.get(doctor=world["doctor_a"])
    for user in (world["admin_a"], world["county"]):
        with pytest.raises(ValidationError) as excinfo:
            postings.posting_close(posting=posting, end_date=datetime.date(2026, 10, 1), acting_user=user)
        assert "2026-10-17" in " ".join(excinfo.value.message_dict["end_date"])
    assert Posting.objects.get(pk=posting.pk).end_date is None
    postings.posting_close(posting=posting, end_date=datetime.date(2026, 10, 17), acting_user=world["admin_a"])


# --- Doctors: create and update ------------------------------------------------------------------


def doctor_data(n: int) -> dict:
    birth = datetime.date(1990, 3, 4)
    return {
        "name": f"新医生{n}",
        "sex": "M",
        "birth_date": birth,
        "id_number": make_id_number(birth, 400 + n),
        "mobile": f"1380000{n:04d}",
        "qualification": Doctor.Qualification.VILLAGE_DOCTOR,
        "hire_date": TODAY,
    }


def test_township_admin_cannot_register_a_doctor_in_another_townships_clinic(world):
    with pytest.raises(ValidationError) as excinfo:
        doctors.doctor_create(acting_user=world["admin_a"], facility=world["b1"], **doctor_data(1))
    assert_out_of_reach(excinfo)
    assert not Doctor.objects.filter(name="新医生1").exists() and audit_rows(world["admin_a"]) == []


def test_only_the_county_registers_a_doctor_without_a_clinic(world):
    with pytest.raises(ValidationError) as excinfo:
        doctors.doctor_create(acting_user=world["admin_a"], **doctor_data(2))
    assert_out_of_reach(excinfo)
    assert not Doctor.objects.filter(name="新医生2").exists()
    assert doctors.doctor_create(acting_user=world["county"], **doctor_data(2)).pk


def test_township_admin_registers_a_doctor_in_his_clinic_and_reaches_them(world):
    doctor = doctors.doctor_create(acting_user=world["admin_a"], facility=world["a1"], **doctor_data(3))
    assert doctor_list(user=world["admin_a"]).filter(pk=doctor.pk).exists()
    assert not doctor_list(user=world["admin_b"]).filter(pk=doctor.pk).exists()


def test_township_admin_cannot_change_another_townships_doctors_bank_account(world):
    doctor = world["doctor_b"]
    account = doctor.bank_account
    with pytest.raises(ValidationError) as excinfo:
        doctors.doctor_update(doctor=Doctor.objects.get(pk=doctor.pk), acting_user=world["admin_a"], bank_account="6230999999999999999")
    assert_out_of_reach(excinfo)
    doctor.refresh_from_db()
    assert doctor.bank_account == account and audit_rows(world["admin_a"]) == []


def test_township_admin_cannot_change_a_doctor_who_moved_away(world):
    postings.posting_move(doctor=world["doctor_a"], facility=world["b1"], start_date=TODAY - 10 * DAY, acting_user=world["county"])
    with pytest.raises(ValidationError) as excinfo:
        doctors.doctor_update(doctor=world["doctor_a"], acting_user=world["admin_a"], mobile="13812345678")
    assert_out_of_reach(excinfo)
    doctors.doctor_update(doctor=world["doctor_a"], acting_user=world["admin_b"], mobile="13812345678")


# --- Reads follow the posting in force -----------------------------------------------------------


def changelist_names(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("admin:staffing_doctor_changelist"))
    assert response.status_code == 200
    return response.content.decode()


def test_a_township_admin_stops_reading_a_doctor_who_moved_away(world, client):
    doctor = world["doctor_a"]
    postings.posting_move(doctor=doctor, facility=world["b1"], start_date=TODAY - 10 * DAY, acting_user=world["county"])

    assert not doctor_list(user=world["admin_a"]).filter(pk=doctor.pk).exists()
    assert doctor_list(user=world["admin_b"]).filter(pk=doctor.pk).exists()
    assert "甲医生" not in changelist_names(client, world["admin_a"])
    assert "甲医生" in changelist_names(client, world["admin_b"])
    change = reverse("admin:staffing_doctor_change", args=[doctor.pk])
    client.force_login(world["admin_a"])
    assert client.get(change).status_code in (302, 404)


def test_until_a_move_starts_the_doctor_stays_with_the_old_township(world):
    doctor = world["doctor_a"]
    postings.posting_move(doctor=doctor, facility=world["b1"], start_date=TODAY + 5 * DAY, acting_user=world["county"])
    assert doctor_list(user=world["admin_a"]).filter(pk=doctor.pk).exists()
    assert not doctor_list(user=world["admin_b"]).filter(pk=doctor.pk).exists()
    # On the start date the reach changes hands.
    assert not doctor_list(user=world["admin_a"], day=TODAY + 5 * DAY).filter(pk=doctor.pk).exists()
    assert doctor_list(user=world["admin_b"], day=TODAY + 5 * DAY).filter(pk=doctor.pk).exists()


def test_a_future_hire_with_only_an_upcoming_posting_is_reached_by_its_township(world, client):
    hire = DoctorFactory(name="待入职医生", hire_date=TODAY + 10 * DAY)
    PostingFactory(doctor=hire, facility=world["b1"])
    assert doctor_list(user=world["admin_b"]).filter(pk=hire.pk).exists()
    assert not doctor_list(user=world["admin_a"]).filter(pk=hire.pk).exists()
    assert "待入职医生" in changelist_names(client, world["admin_b"])
    assert "待入职医生" not in changelist_names(client, world["admin_a"])


def test_township_filter_follows_the_posting_in_force(world, client):
    doctor = world["doctor_a"]
    postings.posting_move(doctor=doctor, facility=world["b1"], start_date=TODAY + 5 * DAY, acting_user=world["county"])
    client.force_login(world["county"])
    page_a = client.get(reverse("admin:staffing_doctor_changelist"), {"township": world["a"].code}).content.decode()
    page_b = client.get(reverse("admin:staffing_doctor_changelist"), {"township": world["b"].code}).content.decode()
    assert "甲医生" in page_a and "甲医生" not in page_b  # the move to B starts in 5 days


def test_township_admins_doctor_changelist_query_count_is_flat(world, client, django_assert_max_num_queries):
    client.force_login(world["admin_a"])
    for _ in range(2):
        PostingFactory(facility=world["a1"])
    with django_assert_max_num_queries(40) as small:
        assert client.get(reverse("admin:staffing_doctor_changelist")).status_code == 200
    for _ in range(10):
        moved = PostingFactory(facility=world["a2"], end_date=TODAY - 5 * DAY)
        PostingFactory(doctor=moved.doctor, facility=world["b1"], start_date=TODAY - 4 * DAY)
        PostingFactory(facility=world["a2"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse("admin:staffing_doctor_changelist")).status_code == 200


# --- A doctor's login follows the posting in force -----------------------------------------------


def test_a_posting_starting_in_5_days_moves_the_login_on_its_start_date(world):
    doctor = world["doctor_a"]
    login = make_user(Role.VILLAGE_DOCTOR, doctor=doctor, username="vd_a")
    postings.posting_move(doctor=doctor, facility=world["a2"], start_date=TODAY + 5 * DAY, acting_user=world["admin_a"])
    login.scope.refresh_from_db()
    assert login.scope.facility == world["a1"]  # not before the posting starts

    assert logins.doctor_logins_sync(today=TODAY + 4 * DAY) == 0
    login.scope.refresh_from_db()
    assert login.scope.facility == world["a1"]

    assert logins.doctor_logins_sync(today=TODAY + 5 * DAY) == 1
    login.scope.refresh_from_db()
    assert login.scope.facility == world["a2"] and login.scope.township == world["a"]
    moved = AuditEntry.objects.filter(action="role.assign", object_id=str(login.scope.pk)).latest("at")
    assert moved.actor is None and moved.changes["facility"] == world["a2"].code
    assert logins.doctor_logins_sync(today=TODAY + 5 * DAY) == 0  # idempotent


def test_a_posting_in_force_today_moves_the_login_at_once(world):
    doctor = world["doctor_a"]
    login = make_user(Role.VILLAGE_DOCTOR, doctor=doctor, username="vd_a")
    postings.posting_move(doctor=doctor, facility=world["a2"], start_date=TODAY, acting_user=world["admin_a"])
    login.scope.refresh_from_db()
    assert login.scope.facility == world["a2"]


def test_closing_a_posting_brings_a_stale_login_to_the_posting_in_force(world):
    doctor = world["doctor_a"]
    login = make_user(Role.VILLAGE_DOCTOR, doctor=doctor, facility=world["a2"], username="vd_a")  # stale: works at a1
    postings.posting_close(posting=Posting.objects.get(doctor=doctor), end_date=TODAY + 30 * DAY, acting_user=world["admin_a"])
    login.scope.refresh_from_db()
    assert login.scope.facility == world["a1"]


def test_the_sync_leaves_other_roles_and_doctors_without_a_posting_in_force_alone(world):
    admin_doctor = world["doctor_b"]
    admin_b = world["admin_b"]
    admin_doctor.user = admin_b
    admin_doctor.save(update_fields=["user"])
    gone = PostingFactory(facility=world["a1"], end_date=TODAY - DAY).doctor
    login = make_user(Role.VILLAGE_DOCTOR, doctor=gone, facility=world["a1"], username="vd_gone")
    assert logins.doctor_logins_sync(today=TODAY) == 0
    admin_b.scope.refresh_from_db()
    login.scope.refresh_from_db()
    assert admin_b.scope.role == Role.TOWNSHIP_ADMIN and login.scope.facility == world["a1"]


def test_the_login_sync_is_a_daily_beat_task(world):
    from config.celery import app
    from staffing.tasks import sync_doctor_logins_task

    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "staffing.sync_doctor_logins"]
    assert len(entries) == 1
    assert "staffing.sync_doctor_logins" in app.tasks
    doctor = world["doctor_a"]
    login = make_user(Role.VILLAGE_DOCTOR, doctor=doctor, facility=world["a2"], username="vd_a")
    assert sync_doctor_logins_task.run() == {"moved": 1}
    login.scope.refresh_from_db()
    assert login.scope.facility == world["a1"]


# --- Rosters -------------------------------------------------------------------------------------


def test_township_admin_cannot_record_leave_for_a_doctor_who_moved_away(world):
    from staffing.rosters.models import LeaveRequest
    from staffing.rosters.services import leave as rosters

    doctor = world["doctor_a"]
    postings.posting_move(doctor=doctor, facility=world["b1"], start_date=TODAY - 10 * DAY, acting_user=world["county"])
    # The leave falls while the doctor was still at A's clinic, so A's admin passes the clinic check.
    with pytest.raises(ValidationError) as excinfo:
        rosters.leave_request_create(
            doctor=doctor, kind="annual", start_date=TODAY - 20 * DAY, end_date=TODAY - 19 * DAY, reason="事假",
            acting_user=world["admin_a"],
        )
    assert_out_of_reach(excinfo)
    assert not LeaveRequest.objects.filter(doctor=doctor).exists()


def test_township_admin_cannot_decide_the_leave_of_a_doctor_who_moved_away(world):
    from staffing.rosters.models import DecisionStatus
    from staffing.rosters.services import leave as rosters

    doctor = world["doctor_a"]
    leave = rosters.leave_request_create(
        doctor=doctor, kind="annual", start_date=TODAY + 3 * DAY, end_date=TODAY + 4 * DAY, reason="探亲", acting_user=None,
    )
    postings.posting_move(doctor=doctor, facility=world["b1"], start_date=TODAY - 10 * DAY, acting_user=world["county"])
    with pytest.raises(ValidationError) as excinfo:
        rosters.leave_decide(leave=leave, approve=True, acting_user=world["admin_a"])
    assert_out_of_reach(excinfo)
    leave.refresh_from_db()
    assert leave.status == DecisionStatus.PENDING


def test_a_village_doctor_cannot_name_another_clinics_doctor_as_swap_counterpart(world):
    from staffing.rosters.services import swaps as rosters

    login = make_user(Role.VILLAGE_DOCTOR, doctor=world["doctor_a"], username="vd_a")
    with pytest.raises(ValidationError) as excinfo:
        rosters.swap_request_create(
            requester=world["doctor_a"], counterpart=world["doctor_b"], give_date=TODAY + 3 * DAY, take_date=None,
            reason="换班", acting_user=login,
        )
    assert_out_of_reach(excinfo)


# --- Telemedicine --------------------------------------------------------------------------------


@pytest.fixture
def consultant_a(world):
    from tests.telemedicine.factories import ConsultantFactory, DepartmentFactory, HospitalFactory

    centre = HospitalFactory(township=world["a"], kind="township_centre", name="甲乡卫生院")
    return ConsultantFactory(department=DepartmentFactory(facility=centre), name="甲专家")


def test_township_admin_cannot_change_another_townships_consultant(world, consultant_a):
    from telemedicine.models import Consultant
    from telemedicine.services import consultants as tele

    consultant_a.title = "主任医师"
    with pytest.raises(ValidationError) as excinfo:
        tele.consultant_save(consultant=consultant_a, acting_user=world["admin_b"])
    assert_out_of_reach(excinfo)
    assert Consultant.objects.get(pk=consultant_a.pk).title == "主治医师"
    assert audit_rows(world["admin_b"]) == []
    tele.consultant_save(consultant=consultant_a, acting_user=world["admin_a"])


def test_township_admin_cannot_move_his_consultant_to_another_townships_department(world, consultant_a):
    from telemedicine.services import consultants as tele
    from tests.telemedicine.factories import DepartmentFactory, HospitalFactory

    elsewhere = DepartmentFactory(facility=HospitalFactory(township=world["b"], kind="township_centre"))
    consultant_a.department = elsewhere
    with pytest.raises(ValidationError) as excinfo:
        tele.consultant_save(consultant=consultant_a, acting_user=world["admin_a"])
    assert_out_of_reach(excinfo)


def test_availability_of_another_townships_consultant_is_refused(world, consultant_a):
    from telemedicine.models import WeeklyAvailability
    from telemedicine.services import availability as tele

    block = WeeklyAvailability(
        consultant=consultant_a, weekday=1, start_time=datetime.time(9), end_time=datetime.time(10),
        slot_minutes=20, places=1, valid_from=TODAY,
    )
    with pytest.raises(ValidationError) as excinfo:
        tele.availability_save(availability=block, acting_user=world["admin_b"])
    assert_out_of_reach(excinfo)
    assert not WeeklyAvailability.objects.filter(consultant=consultant_a).exists()
    tele.availability_save(availability=block, acting_user=world["county"])
    with pytest.raises(ValidationError) as excinfo:
        tele.availability_delete(availability=block, acting_user=world["admin_b"])
    assert_out_of_reach(excinfo)
    assert WeeklyAvailability.objects.filter(pk=block.pk).exists()


def test_a_consultant_changes_only_their_own_availability(world, consultant_a):
    from telemedicine.models import AvailabilityException
    from telemedicine.services import availability as tele
    from tests.telemedicine.factories import ConsultantFactory

    colleague = ConsultantFactory(department=consultant_a.department)
    login = make_user(Role.CONSULTANT, facility=consultant_a.department.facility, username="cons_a")
    consultant_a.user = login
    consultant_a.save(update_fields=["user"])
    with pytest.raises(ValidationError) as excinfo:
        tele.exception_save(
            exception=AvailabilityException(consultant=colleague, date=TODAY + 2 * DAY, kind="leave", reason="休假"),
            acting_user=login,
        )
    assert_out_of_reach(excinfo)
    assert not AvailabilityException.objects.exists()


def test_a_village_doctor_books_only_from_the_clinic_their_login_reaches(world):
    from telemedicine.services import bookings as tele
    from tests.telemedicine.factories import patient

    login = make_user(Role.VILLAGE_DOCTOR, doctor=world["doctor_a"], facility=world["b1"], username="vd_stale")
    with pytest.raises(ValidationError) as excinfo:
        tele.booking_create(slot_id=0, acting_user=login, patient=patient(), chief_complaint="头痛")
    assert_out_of_reach(excinfo)


# --- Payroll inputs ------------------------------------------------------------------------------


def test_township_admin_cannot_score_or_pay_another_townships_doctor(world):
    from staffing.payroll import services as payroll
    from staffing.payroll.models import Assessment, OneOffItem

    with pytest.raises(ValidationError) as excinfo:
        payroll.assessment_save(
            assessment=Assessment(doctor=world["doctor_a"], period="month", period_start=TODAY.replace(day=1), score=Decimal("95")),
            acting_user=world["admin_b"],
        )
    assert_out_of_reach(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        payroll.one_off_item_save(
            item=OneOffItem(doctor=world["doctor_a"], month=TODAY.replace(day=1), kind="bonus", amount=Decimal("5000"), description="奖"),
            acting_user=world["admin_b"],
        )
    assert_out_of_reach(excinfo)
    assert not Assessment.objects.exists() and not OneOffItem.objects.exists()


def test_a_one_off_item_cannot_be_redirected_to_a_doctor_out_of_reach(world):
    from staffing.payroll import services as payroll
    from staffing.payroll.models import OneOffItem

    officer = make_user(Role.PAYROLL_OFFICER, username="payroll")
    item = payroll.one_off_item_save(
        item=OneOffItem(doctor=world["doctor_a"], month=TODAY.replace(day=1), kind="bonus", amount=Decimal("100"), description="奖"),
        acting_user=officer,
    )
    item.doctor = world["doctor_b"]
    with pytest.raises(ValidationError) as excinfo:
        payroll.one_off_item_save(item=item, acting_user=world["admin_a"])
    assert_out_of_reach(excinfo)
    assert OneOffItem.objects.get(pk=item.pk).doctor == world["doctor_a"]
    with pytest.raises(ValidationError):
        payroll.one_off_item_delete(item=OneOffItem.objects.get(pk=item.pk), acting_user=world["admin_b"])
    assert OneOffItem.objects.filter(pk=item.pk).exists()


def test_township_admin_records_leave_for_his_own_doctor(world):
    """No false refusal: the reach checks pass for a doctor in reach."""
    from staffing.rosters.services import leave as rosters

    leave = rosters.leave_request_create(
        doctor=world["doctor_a"], kind="annual", start_date=TODAY + 3 * DAY, end_date=TODAY + 3 * DAY, reason="事",
        acting_user=world["admin_a"],
    )
    assert leave.facility == world["a1"]


def test_admin_posting_change_out_of_reach_is_a_form_error_not_a_500(world, client):
    postings.posting_move(doctor=world["doctor_a"], facility=world["b1"], start_date=TODAY - 30 * DAY, acting_user=world["county"])
    old = Posting.objects.get(doctor=world["doctor_a"], facility=world["a1"])
    client.force_login(world["admin_a"])
    client.raise_request_exception = False
    response = client.post(reverse("admin:staffing_posting_change", args=[old.pk]), {"end_date": (TODAY - 40 * DAY).isoformat()})
    assert response.status_code == 200 and "errornote" in response.content.decode()
    old.refresh_from_db()
    assert old.end_date == TODAY - 31 * DAY


def test_admin_doctor_add_needs_a_clinic_in_reach_for_a_township_admin(world, client):
    client.force_login(world["admin_a"])
    client.raise_request_exception = False
    form = {
        "name": "新医生9", "sex": "M", "birth_date": "1990-03-04", "id_number": make_id_number(datetime.date(1990, 3, 4), 409),
        "mobile": "13800009999", "qualification": "village_doctor", "hire_date": TODAY.isoformat(), "status": "active",
        "postings-TOTAL_FORMS": "0", "postings-INITIAL_FORMS": "0",
    }
    url = reverse("admin:staffing_doctor_add")
    assert client.post(url, form).status_code == 200  # no clinic: the form asks for one
    assert client.post(url, {**form, "clinic": world["b1"].pk}).status_code == 200  # not a choice
    assert not Doctor.objects.filter(name="新医生9").exists()
    assert client.post(url, {**form, "clinic": world["a1"].pk}).status_code == 302
    assert Posting.objects.get(doctor__name="新医生9").facility == world["a1"]
