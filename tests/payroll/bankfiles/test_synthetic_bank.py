"""A province-scale synthetic register (`seed_synthetic`) is paid through a bank with a file
format, so its pay run is not blocked at approval for want of one."""

import pytest
from django.core.management import call_command

from staffing.models import Doctor
from staffing.payroll.bankfiles.seeding import SYNTHETIC_BANK
from staffing.payroll.models import PayingBank

pytestmark = pytest.mark.django_db


def test_seed_synthetic_gives_its_bank_the_generic_sheet(roles):
    call_command("seed_synthetic", "--clinics", "2", stdout=None)
    banks = set(Doctor.objects.values_list("bank_name", flat=True))
    assert banks == {SYNTHETIC_BANK}
    bank = PayingBank.objects.select_related("file_format").get(bank_name=SYNTHETIC_BANK)
    assert bank.file_format.code == "EBANK"
    call_command("seed_synthetic", "--clinics", "1")  # a second batch: the bank is not duplicated
    assert PayingBank.objects.filter(bank_name=SYNTHETIC_BANK).count() == 1
