"""The province-scale duty and doctor lists (issue 18): months from the roster months, exact code
search, no DISTINCT, estimated counts only when the rows are really many, queries flat as rows grow."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.paginators import EstimatedCountPaginator
from staffing.models import Doctor
from staffing.rosters.models import DutyDay
from staffing.rosters.services.generation import roster_generate
from tests.factories import TownshipFactory, clinic_with_doctors

OCT = datetime.date(2026, 10, 1)
NOV = datetime.date(2026, 11, 1)
DUTIES = reverse("admin:rosters_dutyday_changelist")
DOCTORS = reverse("admin:staffing_doctor_changelist")


def plan(township, clinics: int):
    made = [clinic_with_doctors(2, township=township) for _ in range(clinics)]
    for month in (OCT, NOV):
        roster_generate(month=month, township=township)
    return made


def shown(response) -> list:
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("query", ["", "?q=CODE", "?q=NAME", "?month=2026-10-01", "?month=2026-11-01&q=CODE"])
def test_duty_list_queries_stay_flat(calendar_2026, county_admin, client, django_assert_max_num_queries, query):
    township = TownshipFactory()
    (clinic, doctors), *_ = plan(township, 1)
    url = DUTIES + query.replace("CODE", clinic.code).replace("NAME", doctors[0].name)
    client.force_login(county_admin)
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(30) as small:
        client.get(url)
    plan(township, 3)
    with django_assert_max_num_queries(len(small.captured_queries)) as big:
        response = client.get(url)
    assert response.status_code == 200
    assert not any("DISTINCT" in q["sql"] and "rosters_dutyday" in q["sql"] for q in big.captured_queries)


def test_duty_search_by_clinic_code_is_exact(calendar_2026, county_admin, client):
    township = TownshipFactory()
    (clinic, _), (other, _) = plan(township, 2)
    client.force_login(county_admin)
    rows = shown(client.get(f"{DUTIES}?q=%20{clinic.code}%20"))
    assert rows and {row.facility_id for row in rows} == {clinic.pk}
    assert response_count(client, f"{DUTIES}?q={clinic.code}") == DutyDay.objects.filter(facility=clinic).count()
    # Part of a code is no code: it matches no clinic's name and no doctor's.
    assert shown(client.get(f"{DUTIES}?q={clinic.code[:-1]}")) == []


def test_duty_search_by_name_part_finds_the_clinic_and_the_doctor(calendar_2026, county_admin, client):
    township = TownshipFactory()
    (clinic, (a, _)), (other, (c, _)) = plan(township, 2)
    client.force_login(county_admin)
    by_clinic = shown(client.get(f"{DUTIES}?q={clinic.name[-3:]}&month=2026-10-01"))
    assert by_clinic and {row.facility_id for row in by_clinic} <= {clinic.pk, other.pk}
    by_doctor = shown(client.get(f"{DUTIES}?q={c.name}"))
    assert c.pk in {row.doctor_id for row in by_doctor}
    assert all(c.name in row.doctor.name or c.name in row.facility.name for row in by_doctor)


def test_duty_months_come_from_the_roster_months_and_filter_by_date(calendar_2026, county_admin, client):
    township = TownshipFactory()
    plan(township, 1)
    client.force_login(county_admin)
    response = client.get(DUTIES)
    month_filter = next(f for f in response.context["cl"].filter_specs if f.parameter_name == "month")
    assert [value for value, _ in month_filter.lookup_choices] == ["2026-11-01", "2026-10-01"]
    november = client.get(f"{DUTIES}?month=2026-11-01")
    assert {row.date.month for row in shown(november)} == {11}
    assert response_count(client, f"{DUTIES}?month=2026-11-01") == DutyDay.objects.filter(date__month=11).count()
    assert client.get(f"{DUTIES}?month=not-a-month").status_code == 302  # the admin's "?e=1" for a bad lookup


def test_a_township_admin_sees_only_the_months_and_rows_of_the_township(calendar_2026, client, roles):
    from clinics.models import Role
    from tests.factories import make_user

    mine, theirs = TownshipFactory(), TownshipFactory()
    (clinic, _), = plan(mine, 1)
    (far, _), = plan(theirs, 1)
    client.force_login(make_user(Role.TOWNSHIP_ADMIN, township=mine))
    assert shown(client.get(f"{DUTIES}?q={far.code}")) == []
    assert {row.facility_id for row in shown(client.get(DUTIES))} == {clinic.pk}


def response_count(client, url) -> int:
    return client.get(url).context["cl"].result_count


@pytest.mark.parametrize("query", ["", "?q=CODE", "?q=NAME", "?licence=expiring"])
def test_doctor_list_queries_stay_flat_without_distinct(county_admin, client, django_assert_max_num_queries, query):
    township = TownshipFactory()
    clinic, (a, _) = clinic_with_doctors(2, township=township)
    url = DOCTORS + query.replace("CODE", clinic.code).replace("NAME", a.name)
    client.force_login(county_admin)
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(30) as small:
        client.get(url)
    for _ in range(4):
        clinic_with_doctors(3, township=township)
    with django_assert_max_num_queries(len(small.captured_queries)) as big:
        response = client.get(url)
    assert response.status_code == 200
    assert not any("DISTINCT" in q["sql"] and "staffing_doctor" in q["sql"] for q in big.captured_queries)


def test_doctor_list_names_the_clinic_in_force_and_finds_doctors_by_clinic_code(county_admin, client):
    from staffing.services.postings import posting_move

    township = TownshipFactory()
    clinic, (a, b) = clinic_with_doctors(2, township=township)
    other, (c,) = clinic_with_doctors(1, township=township)
    client.force_login(county_admin)
    rows = {d.pk: d.current_clinic_name for d in shown(client.get(DOCTORS))}
    assert rows[a.pk] == clinic.name and rows[c.pk] == other.name
    assert {d.pk for d in shown(client.get(f"{DOCTORS}?q={clinic.code}"))} == {a.pk, b.pk}
    posting_move(doctor=b, facility=other, start_date=datetime.date.today(), acting_user=None)
    rows = {d.pk: d.current_clinic_name for d in shown(client.get(DOCTORS))}
    assert rows[b.pk] == other.name  # one row per doctor: the ended posting is not joined
    assert len(shown(client.get(DOCTORS))) == Doctor.objects.count()
    # The old clinic's code still finds a doctor once posted there (as the substring search did).
    assert b.pk in {d.pk for d in shown(client.get(f"{DOCTORS}?q={clinic.code}"))}


def test_paginator_counts_exactly_below_the_threshold(calendar_2026):
    plan(TownshipFactory(), 1)
    rows = DutyDay.objects.order_by("date", "duty", "doctor_id")
    paginator = EstimatedCountPaginator(rows, 50)
    assert paginator.count == rows.count() and not paginator.estimated


@pytest.mark.postgres
def test_paginator_estimates_only_when_the_rows_are_many(calendar_2026, monkeypatch):
    plan(TownshipFactory(), 2)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE rosters_dutyday")
    total = DutyDay.objects.count()
    many = EstimatedCountPaginator(DutyDay.objects.order_by("date"), 50)
    many.estimate_above = total // 4
    with CaptureQueriesContext(connection) as queries:
        assert many.count >= many.estimate_above + 1 and many.estimated
    assert not any(q["sql"].upper().startswith("SELECT COUNT(*) AS") and "LIMIT" not in q["sql"].upper() for q in queries.captured_queries)
    few = EstimatedCountPaginator(DutyDay.objects.filter(date=OCT).order_by("date"), 50)
    few.estimate_above = total // 4
    assert few.count == DutyDay.objects.filter(date=OCT).count() and not few.estimated
