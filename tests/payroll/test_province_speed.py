"""Issue 18's pay run: the duty summary, grouped in SQL, sums up the duty rows, and
on PostgreSQL the references a pay run writes per line (line → payslip, line → policy version,
funding row → line), checked once per statement by triggers instead of a foreign key per row,
still refuse every bad reference, also under concurrency."""

import datetime
import random
import re
import threading
import time
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from staffing.payroll import sources
from staffing.payroll.models import PayRun, Payslip, PayslipLine, PayslipLineFunding
from staffing.rosters.models import DayKind, DutyDay, RosterMonth
from staffing.rosters.selectors import DutySummary, duty_summary
from tests.factories import PostingFactory, clinic_with_doctors
from tests.payroll.conftest import OCT, publish_roster, run_month

SEP = datetime.date(2026, 9, 1)


def _varied_rosters(seed: int):
    """Three clinics' October: one published with random day duties and on-call days (weekend and
    holiday), a cover duty of its doctor at a second published clinic, one clinic with a draft
    roster, one with none; September and November duties around it."""
    rng = random.Random(seed)
    published, (a1, a2, a3) = clinic_with_doctors(3)
    other, (b1,) = clinic_with_doctors(1)
    drafted, (c1, c2) = clinic_with_doctors(2)
    _bare, (d1,) = clinic_with_doctors(1)
    idle = PostingFactory(facility=published).doctor  # posted where the roster is published, no duty
    kinds = ["day", "weekend", "holiday"]
    duties = []
    for day in range(1, 32):
        on_call = rng.choice([None, a1, a2, a3])
        for doctor in (a1, a2, a3):
            if doctor is on_call:
                duties.append((doctor, datetime.date(2026, 10, day), rng.choice(kinds[1:])))
            elif rng.random() < 0.6:
                duties.append((doctor, datetime.date(2026, 10, day), "day"))
    covered = {d for doctor, d, _kind in duties if doctor is a2}
    cover_day = next(datetime.date(2026, 10, day) for day in range(1, 32) if datetime.date(2026, 10, day) not in covered)
    publish_roster(published, OCT, duties)
    publish_roster(other, OCT, [(b1, datetime.date(2026, 10, 5), "day"), (a2, cover_day, "weekend")])
    publish_roster(published, SEP, [(a1, datetime.date(2026, 9, 30), "holiday")])
    publish_roster(published, datetime.date(2026, 11, 1), [(a1, datetime.date(2026, 11, 1), "day")])
    roster = publish_roster(drafted, OCT, [(c1, datetime.date(2026, 10, 3), "day"), (c2, datetime.date(2026, 10, 4), "weekend")])
    RosterMonth.objects.filter(pk=roster.pk).update(status=RosterMonth.Status.DRAFT)
    return [a1, a2, a3, b1, c1, c2, d1, idle]


def _summaries_row_by_row(doctor_ids):
    """The duty summary worked out here from the duty rows one by one: the expectation."""
    expected = {}
    duties = DutyDay.objects.filter(date__gte=OCT, date__lt=datetime.date(2026, 11, 1), roster__status=RosterMonth.Status.PUBLISHED)
    if doctor_ids is not None:
        duties = duties.filter(doctor_id__in=doctor_ids)
    for doctor_id, day, duty, kind in duties.order_by("date").values_list("doctor_id", "date", "duty", "day_kind"):
        summary = expected.setdefault(doctor_id, DutySummary(published=True))
        kind_list = (summary.day_duty_dates if duty == DutyDay.Duty.DAY
                     else summary.holiday_oncall_dates if kind == DayKind.HOLIDAY else summary.weekend_oncall_dates)
        kind_list.append(day)
    return expected


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_grouped_duty_summary_is_the_duty_rows_summed_up(seed):
    doctors = _varied_rosters(seed)
    ids = [doctor.pk for doctor in doctors]

    for doctor_ids in (ids, ids[2:5], None):
        grouped = duty_summary(month=OCT, doctor_ids=doctor_ids)
        with_duties = {k: v for k, v in grouped.items() if v.day_duty_dates or v.weekend_oncall_dates or v.holiday_oncall_dates}
        assert with_duties == _summaries_row_by_row(doctor_ids)
        assert sources.duty_by_doctor(month=OCT, doctor_ids=doctor_ids) == grouped  # payroll's door to the rosters
    summary = sources.duty_by_doctor(month=OCT, doctor_ids=ids)
    assert set(summary) == set(ids)  # every doctor asked for, with or without duties
    assert summary[doctors[-1].pk].published is True and not summary[doctors[-1].pk].day_duty_dates  # idle at a published clinic
    assert summary[doctors[4].pk].published is False  # draft roster: nothing counted
    assert summary[doctors[6].pk].published is False  # no roster at all
    a2 = summary[doctors[1].pk]
    assert sorted(a2.day_duty_dates) == a2.day_duty_dates


def test_the_duty_summary_reads_one_row_per_doctor_and_kind_of_duty(db, django_assert_num_queries):
    clinic, (doctor,) = clinic_with_doctors(1)
    publish_roster(clinic, OCT, [(doctor, datetime.date(2026, 10, day), "day") for day in range(5, 30)]
                   + [(doctor, datetime.date(2026, 10, 1), "holiday"), (doctor, datetime.date(2026, 10, 4), "weekend")])
    with django_assert_num_queries(1) as captured:
        summary = sources.duty_by_doctor(month=OCT, doctor_ids=None)
    assert "GROUP BY" in captured.captured_queries[0]["sql"]
    assert len(summary[doctor.pk].day_duty_dates) == 25
    assert summary[doctor.pk].holiday_oncall_dates == [datetime.date(2026, 10, 1)]
    assert summary[doctor.pk].weekend_oncall_dates == [datetime.date(2026, 10, 4)]
    assert DutyDay.objects.filter(doctor=doctor, day_kind=DayKind.WORKDAY).count() == 25


def test_recalculating_keeps_each_doctors_payslip_id_and_writes_every_funding_row(db, policies, visits):
    _clinic, (one, two) = clinic_with_doctors(2)
    run = run_month(OCT)
    ids = dict(Payslip.objects.filter(run=run).values_list("doctor_id", "pk"))
    third = PostingFactory(facility=_clinic).doctor
    run = run_month(OCT)
    after = dict(Payslip.objects.filter(run=run).values_list("doctor_id", "pk"))
    assert after[one.pk] == ids[one.pk] and after[two.pk] == ids[two.pk]
    assert third.pk in after and after[third.pk] not in ids.values()
    lines = PayslipLine.objects.filter(payslip__run=run)
    assert lines.count() > 0
    for line in lines.prefetch_related("funding"):
        assert sum((part.amount for part in line.funding.all()), Decimal("0")) == line.amount
    assert not PayslipLineFunding.objects.exclude(line__payslip__run=run).exists()


# --- PostgreSQL: the set-wise references ------------------------------------------------------------


def _plans_logged(cursor):
    """Make the connection report every plan it runs, trigger queries included (auto_explain),
    as notices; returns the list they are collected into."""
    logged = []
    cursor.execute("LOAD 'auto_explain'")
    cursor.execute("SET auto_explain.log_min_duration = 0")
    cursor.execute("SET auto_explain.log_nested_statements = on")
    cursor.execute("SET client_min_messages = log")
    cursor.connection.add_notice_handler(lambda notice: logged.append(notice.message_primary or ""))
    return logged


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_every_check_over_a_transition_table_is_planned_for_its_statement():
    """0017: PL/pgSQL would keep the plan a check made the first time it ran in a connection; one
    made while the pay tables were empty took minutes over a province's 196,000 rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT p.proname, p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE NOT t.tgisinternal AND (t.tgoldtable IS NOT NULL OR t.tgnewtable IS NOT NULL)"
        )
        functions = dict(cursor.fetchall())
    assert {"payroll_refuse_locked_payslips", "payroll_refuse_locked_lines", "payroll_refuse_locked_funding",
            "payref_funding_line_named", "payref_funding_line_deleted", "payref_line_payslip_rekeyed"} <= set(functions)
    for name, source in functions.items():
        static = re.sub(r"\$q\$.*?\$q\$", "", source, flags=re.S)
        assert "new_rows" not in static and "old_rows" not in static, f"{name} has a static query over a transition table"


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_a_check_first_run_on_empty_tables_is_planned_again_for_a_large_statement(policies, visits):
    clinic_with_doctors(3)
    with connection.cursor() as cursor:
        logged = _plans_logged(cursor)
        # The funding guard runs first over an empty statement, as in a new county's first run.
        cursor.execute("DELETE FROM payroll_paysliplinefunding WHERE false")
        run = run_month(OCT)
        funding = PayslipLineFunding.objects.filter(line__payslip__run=run).count()
        assert funding >= 6
        logged.clear()
        cursor.execute(
            "DELETE FROM payroll_paysliplinefunding f USING payroll_payslipline l, payroll_payslip p "
            "WHERE f.line_id = l.id AND l.payslip_id = p.id AND p.run_id = %s", [run.pk]
        )
        cursor.execute("SET client_min_messages = notice")
    guard = next(plan for plan in logged if "FROM old_rows f" in plan and "payroll_payrun" in plan)
    # Planned with this statement's transition table (its real size), not the empty one's plan.
    assert re.search(rf"Named Tuplestore Scan +\(cost=[0-9.]+ rows={funding} ", guard), guard


def _refused(sql, params=()):
    with pytest.raises(IntegrityError, match="violates"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_the_references_are_statement_triggers_not_row_foreign_keys():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid::regclass::text IN ('payroll_payslipline', 'payroll_paysliplinefunding')"
        )
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'payref%%' AND NOT tgisinternal AND (tgtype & 1) = 0")
        assert cursor.fetchone()[0] == 15  # 3 references × 5 statement triggers


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_a_bad_reference_still_fails(policies, visits):
    clinic_with_doctors(1)
    run = run_month(OCT)
    slip = Payslip.objects.get(run=run)
    line = slip.lines.first()
    missing = 10**12
    columns = "(payslip_id, position, component, kind, description, quantity, rate, amount, taxable, policy_id, funding_source, reference_month, source)"
    values = "(%s, 99, 'bonus', 'earning', 'x', 1, 1, 1, true, %s, '', '2026-10-01', '{}')"

    _refused(f"INSERT INTO payroll_payslipline {columns} VALUES {values}", [missing, None])  # no such payslip
    _refused(f"INSERT INTO payroll_payslipline {columns} VALUES {values}", [slip.pk, missing])  # no such policy version
    _refused("INSERT INTO payroll_paysliplinefunding (line_id, source, amount) VALUES (%s, 'county_finance', 1)", [missing])
    _refused("UPDATE payroll_payslipline SET payslip_id = %s WHERE id = %s", [missing, line.pk])
    _refused("UPDATE payroll_paysliplinefunding SET line_id = %s WHERE line_id = %s", [missing, line.pk])
    # The referenced side: a payslip, a line or a policy version still named cannot go.
    _refused("DELETE FROM payroll_payslip WHERE id = %s", [slip.pk])
    _refused("DELETE FROM payroll_payslipline WHERE id = %s", [line.pk])
    _refused("DELETE FROM payroll_paypolicy WHERE id = %s", [line.policy_id or slip.lines.exclude(policy=None).first().policy_id])
    _refused("UPDATE payroll_payslip SET id = id + %s WHERE id = %s", [missing, slip.pk])
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses to run over the payslips' pending deferred checks
    _refused("TRUNCATE payroll_payslip")
    _refused("TRUNCATE payroll_payslipline")  # its funding rows would be left naming nothing
    with transaction.atomic():
        # Children first, as the pay run and Django's cascade delete them: allowed.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM payroll_paysliplinefunding f USING payroll_payslipline l WHERE f.line_id = l.id AND l.payslip_id = %s", [slip.pk])
            cursor.execute("DELETE FROM payroll_payslipline WHERE payslip_id = %s", [slip.pk])
            cursor.execute("DELETE FROM payroll_payslip WHERE id = %s", [slip.pk])
        transaction.set_rollback(True)
    assert Payslip.objects.filter(pk=slip.pk).exists()
    PayRun.objects.filter(pk=run.pk).delete()  # Django's cascade: funding, lines, payslips, run
    assert not PayslipLine.objects.exists() and not PayslipLineFunding.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["insert", "delete"])
def test_postgres_a_line_written_while_its_payslip_is_deleted_is_refused_one_way_or_the_other(first, policies, visits):
    """A payslip committed earlier; one transaction adds a line to it while another deletes it
    (its lines and funding first). Whichever comes first, the other waits for it and then fails:
    no line is left naming a deleted payslip."""
    clinic_with_doctors(1)
    run = run_month(OCT)
    slip_id = Payslip.objects.get(run=run).pk
    holding, release = threading.Event(), threading.Event()
    errors = {}

    def insert_line():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO payroll_payslipline (payslip_id, position, component, kind, description, quantity, rate, amount, taxable, "
                    "funding_source, reference_month, source) VALUES (%s, 99, 'bonus', 'earning', 'x', 1, 1, 1, true, '', '2026-10-01', '{}')",
                    [slip_id],
                )
                if first == "insert":
                    holding.set()
                    release.wait(10)
        except IntegrityError as exc:
            errors["insert"] = exc
        finally:
            holding.set()
            connection.close()

    def delete_slip():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("DELETE FROM payroll_paysliplinefunding f USING payroll_payslipline l WHERE f.line_id = l.id AND l.payslip_id = %s",
                               [slip_id])
                cursor.execute("DELETE FROM payroll_payslipline WHERE payslip_id = %s", [slip_id])
                cursor.execute("DELETE FROM payroll_payslip WHERE id = %s", [slip_id])
                if first == "delete":
                    holding.set()
                    release.wait(10)
        except IntegrityError as exc:
            errors["delete"] = exc
        finally:
            holding.set()
            connection.close()

    leader, follower = (insert_line, delete_slip) if first == "insert" else (delete_slip, insert_line)
    threads = [threading.Thread(target=leader)]
    threads[0].start()
    holding.wait(10)
    threads.append(threading.Thread(target=follower))
    threads[1].start()
    time.sleep(0.5)  # the follower is now waiting on the leader's lock
    release.set()
    for thread in threads:
        thread.join(20)

    follower_kind = "delete" if first == "insert" else "insert"
    assert list(errors) == [follower_kind]
    assert "violates the reference line_payslip" in str(errors[follower_kind])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM payroll_payslipline l WHERE NOT EXISTS (SELECT 1 FROM payroll_payslip p WHERE p.id = l.payslip_id)")
        assert cursor.fetchone()[0] == 0
    assert Payslip.objects.filter(pk=slip_id).exists() == (first == "insert")


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_the_guards_over_distinct_payslips_still_freeze_an_approved_run(policies, visits):
    from django.db import DatabaseError

    from staffing.payroll.models import FundingSource
    from tests.payroll.conftest import approve

    clinic_with_doctors(2)
    run = approve(run_month(OCT))
    line = PayslipLine.objects.filter(payslip__run=run).first()
    unused = next(source for source in FundingSource.values if not line.funding.filter(source=source).exists())
    statements = [
        ("DELETE FROM payroll_paysliplinefunding WHERE line_id = %s", [line.pk]),
        ("UPDATE payroll_paysliplinefunding SET amount = amount WHERE line_id = %s", [line.pk]),
        ("INSERT INTO payroll_paysliplinefunding (line_id, source, amount) VALUES (%s, %s, 0)", [line.pk, unused]),
        ("UPDATE payroll_payslipline SET description = 'x' WHERE id = %s", [line.pk]),
        ("INSERT INTO payroll_payslipline (payslip_id, position, component, kind, description, quantity, rate, amount, taxable, "
         "funding_source, reference_month, source) VALUES (%s, 99, 'bonus', 'earning', 'x', 1, 1, 1, true, '', '2026-10-01', '{}')",
         [line.payslip_id]),
    ]
    for sql, params in statements:
        with pytest.raises(DatabaseError, match="approved"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert PayslipLineFunding.objects.filter(line=line).count() == line.funding.count() > 0
