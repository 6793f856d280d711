"""The month loaded as its own partition (PostgreSQL, issue 18): the same rows and rules as the
row-by-row path, and a bad reference still refused — by ATTACH PARTITION's set-wise check of
the foreign keys — with a clear message and nothing kept."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from staffing.models import Doctor
from staffing.rosters import bulk
from staffing.rosters.models import DutyDay, RosterMonth
from staffing.rosters.services.generation import roster_generate
from tests.factories import clinic_with_doctors

D = datetime.date
pytestmark = pytest.mark.postgres
OCTOBER = D(2026, 10, 1)


@pytest.fixture
def always_by_partition(monkeypatch):
    monkeypatch.setattr(bulk, "PARTITION_LOAD_MIN_ROWS", 0)


def partition_of(duty_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM rosters_dutyday WHERE id = %s", [duty_id])
        return cursor.fetchone()[0]


def test_a_month_is_loaded_into_its_own_partition_and_regenerated_in_place(calendar_2026, always_by_partition):
    clinic, doctors = clinic_with_doctors(2)
    other, _ = clinic_with_doctors(2)
    first = roster_generate(month=OCTOBER)
    duties = DutyDay.objects.filter(date__gte=OCTOBER, date__lt=D(2026, 11, 1))
    assert first.duties == duties.count() > 0
    assert {partition_of(pk) for pk in duties.values_list("pk", flat=True)} == {"rosters_dutyday_2026_10"}

    # one clinic's roster published: regenerating keeps its duties (and their ids), replaces the rest
    RosterMonth.objects.filter(facility=other, month=OCTOBER).update(status=RosterMonth.Status.PUBLISHED)
    kept = set(duties.filter(facility=other).values_list("pk", flat=True))
    replaced = set(duties.filter(facility=clinic).values_list("pk", flat=True))
    again = roster_generate(month=OCTOBER)
    assert again.skipped_published == 1
    assert set(duties.filter(facility=other).values_list("pk", flat=True)) == kept
    new = set(duties.filter(facility=clinic).values_list("pk", flat=True))
    assert len(new) == len(replaced) == again.duties and not new & replaced
    assert duties.count() == first.duties
    # the rules still hold on the attached partition: one on-call doctor on National Day
    assert DutyDay.objects.filter(facility=clinic, date=OCTOBER, duty="on_call").count() == 1


def test_rows_of_the_month_in_the_default_partition_move_into_it(calendar_2026, always_by_partition, monkeypatch):
    clinic, _ = clinic_with_doctors(2)
    monkeypatch.setattr(bulk, "PARTITION_LOAD_MIN_ROWS", 10**9)
    roster_generate(month=OCTOBER)  # row by row: lands in the default partition
    monkeypatch.setattr(bulk, "PARTITION_LOAD_MIN_ROWS", 0)
    other, _ = clinic_with_doctors(2)
    RosterMonth.objects.filter(facility=clinic).update(status=RosterMonth.Status.PUBLISHED)
    before = set(DutyDay.objects.values_list("pk", flat=True))
    roster_generate(month=OCTOBER)
    ids = set(DutyDay.objects.filter(date__month=10).values_list("pk", flat=True))
    assert before < ids  # the published clinic's duties kept, the new clinic's added
    assert {partition_of(pk) for pk in ids} == {"rosters_dutyday_2026_10"}


def test_a_duty_pointing_at_a_missing_doctor_is_refused_set_wise_and_nothing_is_kept(calendar_2026):
    clinic, (a, b) = clinic_with_doctors(2)
    roster = RosterMonth.objects.create(facility=clinic, month=OCTOBER, status=RosterMonth.Status.DRAFT)
    missing = Doctor.objects.order_by("-pk").first().pk + 1000
    rows = [
        (roster.pk, clinic.pk, a.pk, D(2026, 10, 9), "day", "workday", "generated"),
        (roster.pk, clinic.pk, missing, D(2026, 10, 10), "on_call", "weekend", "generated"),
    ]
    fields = ["roster", "facility", "doctor", "date", "duty", "day_kind", "source"]
    with pytest.raises(ValidationError) as refused:
        bulk.duty_month_load(
            model=DutyDay, month=OCTOBER, fields=fields, rows=rows, replaced_rosters=RosterMonth.objects.none().values("pk")
        )
    message = refused.value.messages[0]
    assert "2026-10" in message and "staffing_doctor" in message, message
    assert refused.value.error_list[0].code == "bad_reference"


def test_a_doctor_twice_on_one_day_is_refused_by_the_attach(calendar_2026):
    clinic, (a,) = clinic_with_doctors(1)
    roster = RosterMonth.objects.create(facility=clinic, month=OCTOBER, status=RosterMonth.Status.DRAFT)
    row = (roster.pk, clinic.pk, a.pk, D(2026, 10, 9), "day", "workday", "generated")
    with pytest.raises(ValidationError):
        bulk.duty_month_load(
            model=DutyDay, month=OCTOBER, fields=["roster", "facility", "doctor", "date", "duty", "day_kind", "source"],
            rows=[row, row], replaced_rosters=RosterMonth.objects.none().values("pk"),
        )


def _estimated_rosters() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'rosters_rostermonth'::regclass")
        return cursor.fetchone()[0]


def test_a_large_publish_refreshes_the_planners_count_of_rosters_in_its_own_transaction(calendar_2026, monkeypatch):
    """After a province-wide publish the planner took the month's published rosters to be as few
    as before, and the duty summary read that followed ran for minutes (issue 18)."""
    from staffing.rosters.services import publishing

    for _ in range(3):
        clinic_with_doctors(2)
    roster_generate(month=OCTOBER)
    roster_generate(month=D(2026, 11, 1))
    RosterMonth.objects.bulk_create([RosterMonth(facility=r.facility, month=D(2026, 12, 1)) for r in RosterMonth.objects.filter(month=OCTOBER)])
    rows = RosterMonth.objects.count()
    monkeypatch.setattr(publishing, "ANALYZE_AFTER_PUBLISHING", 3)
    assert publishing.roster_publish(month=OCTOBER, acting_user=None) == 3
    assert _estimated_rosters() == rows  # analysed inside the publish (a small table: every row counted)
