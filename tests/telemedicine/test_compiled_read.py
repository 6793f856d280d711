"""The booking's two reads compiled once (`telemedicine.services.compiled`): each run with new values
answers what the queryset itself answers (the model, its select_related objects, the annotations),
a missing row is None, and a build whose SQL depends on its values is refused."""

import datetime

import pytest
from django.db import connections
from django.utils import timezone

from staffing.models import Posting
from staffing.selectors import login_current_postings
from telemedicine.models import Slot
from telemedicine.services import bookings
from telemedicine.services.compiled import CompiledRead
from telemedicine.services.patients import patient_key
from telemedicine.services.slots import slot_bookable_read
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import approved_leave, make_slot, village_doctor

pytestmark = pytest.mark.django_db


def _same(compiled, orm, fields):
    return [getattr(compiled, f) for f in fields] == [getattr(orm, f) for f in fields]


def test_the_slot_read_answers_as_the_queryset_does(consultant, doctor_user, clock):
    doctor = doctor_user.doctor
    key = patient_key(bookings.Patient(name="韦小兰", sex="F", age=56), doctor.postings.get().facility_id)
    free, on_leave_day = make_slot(consultant, TOMORROW, 9), make_slot(consultant, TOMORROW + datetime.timedelta(days=1), 9)
    approved_leave(doctor, doctor.postings.get().facility, TOMORROW + datetime.timedelta(days=1))
    for slot in (free, on_leave_day):
        compiled = bookings._SLOT_READ.get(slot_id=slot.pk, doctor_id=doctor.pk, patient_key=key)
        orm = bookings._SLOT_READ.build(slot_id=slot.pk, doctor_id=doctor.pk, patient_key=key).first()
        assert isinstance(compiled, Slot) and compiled.pk == slot.pk
        assert _same(compiled, orm, ["starts_at", "ends_at", "places", "booked", "is_withdrawn", "local_day", "local_year"])
        assert _same(compiled, orm, ["calendar_loaded", "consultant_on_leave", "doctor_on_leave", "patient_busy"])
        assert compiled.consultant.department.facility.name == orm.consultant.department.facility.name
        assert compiled.consultant.user.username == consultant.user.username
    assert bookings._SLOT_READ.get(slot_id=free.pk, doctor_id=doctor.pk, patient_key=key).doctor_on_leave is False
    assert bookings._SLOT_READ.get(slot_id=on_leave_day.pk, doctor_id=doctor.pk, patient_key=key).doctor_on_leave is True


def test_each_run_carries_its_own_values(consultant, clock):
    first, second = make_slot(consultant, TOMORROW, 9), make_slot(consultant, TOMORROW, 10)
    read = CompiledRead(lambda *, slot_id: slot_bookable_read(slot_id), model=Slot, slot_id=int)
    assert read.get(slot_id=first.pk).starts_at == first.starts_at
    assert read.get(slot_id=second.pk).starts_at == second.starts_at
    assert read.get(slot_id=second.pk + 1000) is None


def test_the_posting_read_is_the_staffing_selectors(clock):
    user = village_doctor(username="vd_compiled")
    today = timezone.localdate()
    compiled = bookings._POSTING_READ.get(user_id=user.pk, day=today)
    orm = login_current_postings(user=user, day=today).first()
    assert isinstance(compiled, Posting) and compiled.pk == orm.pk
    assert (compiled.doctor.name, compiled.facility.name) == (orm.doctor.name, orm.facility.name)
    before_it_started = compiled.start_date - datetime.timedelta(days=1)
    assert bookings._POSTING_READ.get(user_id=user.pk, day=before_it_started) is None


def test_a_read_whose_sql_changes_with_its_values_is_refused(consultant):
    read = CompiledRead(
        lambda *, slot_id: Slot.objects.filter(pk=slot_id) if slot_id % 2 else Slot.objects.filter(pk=slot_id, places=1),
        model=Slot, slot_id=int,
    )
    with pytest.raises(ValueError, match="cannot be compiled once"):
        read.get(slot_id=1)


def test_each_time_zone_has_its_own_compiled_sql(consultant, clock):
    slot = make_slot(consultant, TOMORROW, 7)  # 07:00 in Shanghai is 23:00 UTC the day before
    read = CompiledRead(lambda *, slot_id: slot_bookable_read(slot_id), model=Slot, slot_id=int)
    assert read.get(slot_id=slot.pk).local_day == TOMORROW
    with timezone.override(datetime.UTC):
        assert read.get(slot_id=slot.pk).local_day == TOMORROW - datetime.timedelta(days=1)
    assert set(read._per_connection[connections["default"]]) == {"Asia/Shanghai", "UTC"}


def _prepared_reads():
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ['SELECT "telemedicine_slot".%'])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
def test_on_postgresql_the_read_is_prepared_once_per_connection(consultant, clock):
    first, second = make_slot(consultant, TOMORROW, 9), make_slot(consultant, TOMORROW, 10)
    read = CompiledRead(lambda *, slot_id: Slot.objects.filter(pk=slot_id).only("id", "starts_at"), model=Slot, slot_id=int)
    before = _prepared_reads()
    assert read.get(slot_id=first.pk).pk == first.pk
    prepared = _prepared_reads()
    assert read.get(slot_id=second.pk).pk == second.pk
    assert len(prepared) == len(before) + 1
    assert _prepared_reads() == prepared  # the second run used the statement prepared by the first


@pytest.mark.postgres
def test_behind_a_transaction_pooler_nothing_is_prepared(consultant, clock, monkeypatch):
    slot = make_slot(consultant, TOMORROW, 9)
    monkeypatch.setitem(connections["default"].settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    read = CompiledRead(lambda *, slot_id: Slot.objects.filter(pk=slot_id).only("id", "ends_at"), model=Slot, slot_id=int)
    before = _prepared_reads()
    assert read.get(slot_id=slot.pk).pk == slot.pk
    assert _prepared_reads() == before
