"""The October 2026 run of the seeded demo (Leye's register, its 176 synthetic doctors at three
banks, the demo pay policies and the shipped bank file formats), calculated and approved through
the services."""

import datetime

import pytest

from clinics.roles import seed_roles
from clinics.seeding import seed_register
from staffing.models import Doctor
from staffing.payroll import services
from staffing.payroll.models import PayRun
from staffing.payroll.seeding import seed_payroll
from staffing.seeding import seed_doctors

OCT = datetime.date(2026, 10, 1)


def seed_demo():
    counts: dict = {}
    seed_roles(counts)
    seed_register(counts)
    seed_doctors(counts)
    seed_payroll(counts)


@pytest.fixture
def demo(db, visits):
    seed_demo()


def calculated_october(user=None) -> PayRun:
    run = PayRun.objects.filter(month=OCT).first() or services.payrun_create(month=OCT, acting_user=user)
    return services.payrun_calculate(run=run, acting_user=user)


def approve(run, user=None) -> PayRun:
    return services.payrun_approve(run=run, acting_user=user, acknowledge_warnings=True)


@pytest.fixture
def october(demo) -> PayRun:
    return approve(calculated_october())


def doctors_at(bank: str):
    return Doctor.objects.filter(bank_name=bank).order_by("pk")
