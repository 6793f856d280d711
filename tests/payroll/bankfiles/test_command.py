"""`manage.py export_bank_files --month YYYY-MM --out DIR`: the contract and its refusals."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from staffing.payroll.models import PayRun
from tests.payroll.bankfiles.conftest import calculated_october

pytestmark = pytest.mark.django_db


def test_writes_every_banks_file_and_the_control_sheet(october, tmp_path):
    out = io.StringIO()
    target = tmp_path / "bank" / "2026-10"
    call_command("export_bank_files", "--month", "2026-10", "--out", str(target), stdout=out)
    names = sorted(p.name for p in target.iterdir())
    assert names == sorted(["2026-10_ABC_中国农业银行.txt", "2026-10_EBANK_中国邮政储蓄银行.xlsx", "2026-10_EBANK_广西农村信用社.xlsx",
                            next(n for n in names if n.endswith(".xlsx") and "_EBANK_" not in n)])
    control = next(n for n in names if "_EBANK_" not in n and n.endswith(".xlsx"))
    abc = (target / "2026-10_ABC_中国农业银行.txt").read_bytes()
    assert all(len(line) == 138 for line in abc.split(b"\n")[:-1])
    rows = [[c.value for c in r] for r in load_workbook(target / control).active.iter_rows()]
    run = PayRun.objects.get(month=october.month)
    assert Decimal(str(next(r for r in rows if r[0] == str(run))[2])) == run.net_total
    text = out.getvalue()
    assert "2026-10_ABC_中国农业银行.txt" in text and str(run.net_total) in text
    assert not [p for p in target.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_refusals_are_clear_command_errors(demo, tmp_path):
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("export_bank_files", "--month", "2026/10", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="2026-10"):  # no run at all
        call_command("export_bank_files", "--month", "2026-10", "--out", str(tmp_path))
    calculated_october()
    with pytest.raises(CommandError, match="2026-10"):  # calculated, not approved
        call_command("export_bank_files", "--month", "2026-10", "--out", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_that_cannot_be_written(october, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(CommandError, match="file.txt"):
        call_command("export_bank_files", "--month", "2026-10", "--out", str(a_file))
    with pytest.raises(CommandError, match="/proc/cunyi-bank"):
        call_command("export_bank_files", "--month", "2026-10", "--out", "/proc/cunyi-bank")
