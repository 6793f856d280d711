"""The core layer: months, the one retry, the domain-error mapping and the keyed hash."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import OperationalError
from rest_framework.test import APIRequestFactory

from core import months
from core.api import exception_handler
from core.errors import Busy, Conflict, DomainError, NotFound, Refused
from core.hashing import keyed_hash
from core.retry import with_retry


@pytest.mark.parametrize(
    "text, expected",
    [("2026-10", datetime.date(2026, 10, 1)), (" 2027-1 ", datetime.date(2027, 1, 1)), ("2026-12", datetime.date(2026, 12, 1))],
)
def test_parse_month_reads_year_dash_month(text, expected):
    assert months.parse_month(text) == expected


@pytest.mark.parametrize("text", ["", None, "2026-13", "2026-00", "2026/10", "26-10", "2026-10-01", "abcd-ef", 202610])
def test_parse_month_refuses_anything_else_with_the_field_and_a_chinese_hint(text):
    with pytest.raises(ValidationError) as info:
        months.parse_month(text)
    assert list(info.value.message_dict) == ["month"]
    with pytest.raises(ValidationError) as plain:
        months.parse_month(text, field=None)
    assert not hasattr(plain.value, "error_dict")


def test_optional_month_is_none_when_empty():
    assert months.parse_optional_month("") is None and months.parse_optional_month(None) is None
    assert months.parse_optional_month("2026-02") == datetime.date(2026, 2, 1)


def test_month_arithmetic_crosses_years():
    assert months.add_months(datetime.date(2026, 11, 1), 2) == datetime.date(2027, 1, 1)
    assert months.add_months(datetime.date(2026, 1, 1), -1) == datetime.date(2025, 12, 1)
    assert months.month_end(datetime.date(2028, 2, 1)) == datetime.date(2028, 2, 29)
    assert months.next_month(datetime.date(2026, 12, 1)) == datetime.date(2027, 1, 1)
    assert months.month_start(datetime.date(2026, 12, 31)) == datetime.date(2026, 12, 1)
    assert months.days_between(datetime.date(2026, 2, 27), datetime.date(2026, 3, 1)) == [
        datetime.date(2026, 2, 27),
        datetime.date(2026, 2, 28),
        datetime.date(2026, 3, 1),
    ]


class _Cause(Exception):
    def __init__(self, sqlstate):
        self.sqlstate = sqlstate


def _failing(times, sqlstate="40P01"):
    calls = []

    def service():
        calls.append(1)
        if len(calls) <= times:
            exc = OperationalError("deadlock detected")
            exc.__cause__ = _Cause(sqlstate)
            raise exc
        return "done"

    return service, calls


def test_retry_runs_again_after_a_deadlock_or_serialisation_failure():
    service, calls = _failing(2)
    assert with_retry(service, backoff=0) == "done" and len(calls) == 3
    service, calls = _failing(1, sqlstate="40001")
    assert with_retry(service, backoff=0) == "done" and len(calls) == 2


def test_retry_gives_up_as_busy_with_the_callers_message():
    service, calls = _failing(5)
    with pytest.raises(Busy) as info:
        with_retry(service, busy_message="稍后再试", backoff=0)
    assert len(calls) == 3 and info.value.message == "稍后再试" and info.value.code == "busy" and info.value.status == 409


def test_retry_does_not_hide_other_database_errors():
    service, calls = _failing(1, sqlstate="42P01")
    with pytest.raises(OperationalError):
        with_retry(service, backoff=0)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "error, status", [(DomainError("x"), 400), (Conflict("x"), 409), (Refused("x"), 403), (NotFound("x"), 404), (Busy("x"), 409)]
)
def test_every_domain_error_is_mapped_once_at_the_api_edge(error, status):
    request = APIRequestFactory().get("/api/v1/")
    response = exception_handler(error, {"request": request})
    assert response.status_code == status
    assert response.data == {"code": error.code, "detail": "x", "fields": {}}


def test_a_domain_error_can_carry_more_fields():
    response = exception_handler(Conflict("已预约", code="duplicate", booking=17), {})
    assert response.status_code == 409 and response.data == {"code": "duplicate", "detail": "已预约", "fields": {}, "booking": 17}


def test_keyed_hash_uses_its_own_key_not_the_secret_key(settings):
    before = keyed_hash("450000199001011234")
    settings.SECRET_KEY = "another-secret-key-entirely-" + "x" * 30
    assert keyed_hash("450000199001011234") == before
    settings.HASH_KEY = "a-rotated-hash-key"
    assert keyed_hash("450000199001011234") != before
    assert keyed_hash(" 45000019900101123x ") == keyed_hash("45000019900101123X")


@pytest.mark.django_db
def test_rotating_the_hash_key_rehashes_stored_id_numbers(settings):
    from tests.factories import DoctorFactory

    doctor = DoctorFactory()
    settings.HASH_KEY = "a-rotated-hash-key"
    from staffing.models import Doctor

    assert not Doctor.objects.filter(id_number_hash=keyed_hash(doctor.id_number)).exists()
    call_command("rehash_keyed_values", stdout=open("/dev/null", "w"))
    assert Doctor.objects.get(id_number_hash=keyed_hash(doctor.id_number)) == doctor
