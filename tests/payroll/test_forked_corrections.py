"""The corrections of a pay run (approved months recomputed) run in a second process where one can
be forked (`core.forked`), beside the month's own calculation; the lines are those the same run
computes in one process, and a child that fails leaves the answer to this process."""

import datetime
import os
from decimal import Decimal

import pytest

from core import forked
from staffing.payroll import calculation, services
from staffing.payroll.models import Assessment, PayRun, Payslip
from staffing.payroll.seeding import seed_payroll
from tests.factories import PostingFactory
from tests.payroll.conftest import NOV, OCT, approve, run_month

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def lines(pays):
    return sorted(
        (doctor_id, ln.component, ln.kind, ln.reference_month, ln.quantity, ln.rate, ln.amount, ln.description, repr(ln.funding))
        for doctor_id, pay in pays.items() for ln in pay.lines
    )


@pytest.fixture
def october_approved_then_corrected(monkeypatch):
    seed_payroll({})
    doctors = [PostingFactory().doctor for _ in range(3)]
    approve(run_month(OCT))
    for doctor, score in zip(doctors, ("95", "80", "60"), strict=True):  # October's performance, after its approval
        services.assessment_save(assessment=Assessment(doctor=doctor, period_start=OCT, score=Decimal(score)), acting_user=None)
    monkeypatch.setattr(forked, "_single_threaded", lambda: True)  # the test process runs xdist's I/O thread
    return PayRun.objects.create(month=NOV), doctors


def test_the_corrections_come_from_a_child_and_equal_the_one_process_result(october_approved_then_corrected, monkeypatch, settings):
    run, doctors = october_approved_then_corrected
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    calculated = services.payrun_calculate(run=run, acting_user=None)
    assert forks == [1], "the corrections did not run in a second process"
    corrections = {
        (slip.doctor_id, ln.amount) for slip in Payslip.objects.filter(run=calculated) for ln in slip.lines.filter(reference_month=OCT)
    }
    assert corrections and {doctor_id for doctor_id, _amount in corrections} <= {d.pk for d in doctors}

    forked_pays, _warnings = calculation.calculate_run(run)  # outside a transaction: forks again
    settings.FORKED_READS = False
    serial_pays, _warnings = calculation.calculate_run(run)
    assert len(forks) == 2
    assert lines(forked_pays) == lines(serial_pays)
    assert any(ln.reference_month == OCT for pay in serial_pays.values() for ln in pay.lines)


def test_a_child_that_fails_leaves_the_corrections_to_this_process(october_approved_then_corrected, monkeypatch, settings):
    run, _doctors = october_approved_then_corrected
    settings.FORKED_READS = False
    expected = lines(calculation.calculate_run(run)[0])
    settings.FORKED_READS = True
    parent = os.getpid()
    real = calculation.correction_lines

    def fails_in_the_child(*args, **kwargs):
        if os.getpid() != parent:
            raise RuntimeError("the child's database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(calculation, "correction_lines", fails_in_the_child)
    assert lines(calculation.calculate_run(run)[0]) == expected


def test_no_second_process_inside_an_enclosing_transaction(october_approved_then_corrected, monkeypatch):
    from django.db import transaction

    run, _doctors = october_approved_then_corrected
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked inside an enclosing transaction"))
    with transaction.atomic():
        services.payrun_calculate(run=run, acting_user=None)  # its own atomic block is the second: the child would not see the first's rows
    assert Payslip.objects.filter(run=run).exists()
    assert datetime.date(2026, 11, 1) == NOV
