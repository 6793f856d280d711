"""Every shipped format for the October 2026 run of the seeded demo, read back the way the bank's
side would: fixed-width GBK as bytes, sheets with openpyxl; the control sheet against the run."""

import io
import re
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from staffing.models import Doctor
from staffing.payroll.bankfiles.render import BankFileError
from staffing.payroll.bankfiles.services import bank_export_build
from staffing.payroll.models import BankFileFormat, PayingBank, Payslip
from tests.payroll.bankfiles.conftest import approve, calculated_october

pytestmark = pytest.mark.django_db

ABC_WIDTHS = (60, 30, 18, 30)
PURPOSE = "2026年10月村医报酬"


@pytest.fixture
def five_banks(demo):
    """The demo's three banks, plus some doctors moved to 建设银行 and 工商银行 so every shipped
    format has payees."""
    ids = list(Doctor.objects.filter(bank_name="广西农村信用社").order_by("pk").values_list("pk", flat=True))
    Doctor.objects.filter(pk__in=ids[:7]).update(bank_name="中国建设银行")
    Doctor.objects.filter(pk__in=ids[7:12]).update(bank_name="中国工商银行")
    return approve(calculated_october())


def _slips(run, bank):
    return {s.bank_account: s for s in Payslip.objects.filter(run=run, bank_name=bank).select_related("doctor")}


def _file(export, code):
    found = [f for f in export.files if f"_{code}_" in f.name]
    assert len(found) >= 1, [f.name for f in export.files]
    return found


def _sheet(content):
    return load_workbook(io.BytesIO(content)).active


def test_abc_fixed_width_gbk_every_line_138_bytes(five_banks):
    run = five_banks
    export = bank_export_build(runs=[run], acting_user=None)
    (abc,) = _file(export, "ABC")
    assert abc.name == "2026-10_ABC_中国农业银行.txt"
    slips = _slips(run, "中国农业银行")
    raw = abc.content
    assert raw.endswith(b"\n") and b"\r" not in raw
    lines = raw.split(b"\n")[:-1]
    assert len(lines) == len(slips) == abc.records > 0
    for line in lines:
        assert len(line) == sum(ABC_WIDTHS)  # bytes, not characters
        name, account, amount, purpose = (line[a:a + w] for a, w in zip((0, 60, 90, 108), ABC_WIDTHS, strict=True))
        text = line.decode("gbk")
        assert len(text) < len(line)  # Chinese characters are two bytes each in GBK
        slip = slips[account.decode("ascii").rstrip(" ")]
        assert name == slip.doctor.name.encode("gbk").ljust(60, b" ")  # left-aligned, padded to 60 bytes
        assert account == slip.bank_account.encode("ascii").ljust(30, b" ")
        assert re.fullmatch(rb"[0-9]+\.[0-9]{3} *", amount) and amount == f"{slip.net:.3f}".encode().ljust(18, b" ")
        assert purpose == PURPOSE.encode("gbk").ljust(30, b" ") and purpose.decode("gbk").rstrip(" ") == PURPOSE
    assert abc.total == sum(s.net for s in slips.values())


def test_ccb_nine_columns_text_accounts_numeric_amounts_truly_empty_cells(five_banks):
    run = five_banks
    export = bank_export_build(runs=[run], acting_user=None)
    (ccb,) = _file(export, "CCB")
    sheet = _sheet(ccb.content)
    assert [c.value for c in sheet[1]] == ["序号", "账户", "户名", "金额", "跨行标识", "行名", "联行行号", "摘要", "备注"]
    slips = _slips(run, "中国建设银行")
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(slips) == 7
    for number, row in enumerate(rows, 1):
        seq, account, name, amount, cross, bank, branch, purpose, note = row
        assert seq.value == number and seq.data_type == "n"
        assert account.data_type == "s" and account.number_format == "@" and isinstance(account.value, str)
        slip = slips[account.value]
        assert len(account.value) == 19 and "E+" not in account.value
        assert name.value == slip.doctor.name and name.data_type == "s"
        assert amount.data_type == "n" and amount.number_format == "0.00" and Decimal(str(amount.value)) == slip.net
        assert cross.value is None and bank.value is None and branch.value is None and note.value is None
        assert purpose.value == PURPOSE
    # No empty inline-string cell anywhere: an empty value is no cell at all.
    raw = zipfile.ZipFile(io.BytesIO(ccb.content)).read("xl/worksheets/sheet1.xml").decode()
    assert 't="inlineStr"><is><t></t>' not in raw and "<v></v>" not in raw
    assert not re.search(r'<c r="[EFGI](?:[2-9]|[1-9][0-9]+)"', raw)  # the blank columns have no cells below the titles


def test_icbc_three_columns_and_the_generic_sheet(five_banks):
    run = five_banks
    export = bank_export_build(runs=[run], acting_user=None)
    (icbc,) = _file(export, "ICBC")
    sheet = _sheet(icbc.content)
    assert [c.value for c in sheet[1]] == ["账号", "户名", "金额"]
    slips = _slips(run, "中国工商银行")
    body = list(sheet.iter_rows(min_row=2))
    assert len(body) == 5
    for account, name, amount in body:
        assert account.data_type == "s" and account.number_format == "@"
        assert name.value == slips[account.value].doctor.name
        assert amount.data_type == "n" and amount.number_format == "0.00" and Decimal(str(amount.value)) == slips[account.value].net
    generic = _file(export, "EBANK")
    assert sorted(f.name for f in generic) == ["2026-10_EBANK_中国邮政储蓄银行.xlsx", "2026-10_EBANK_广西农村信用社.xlsx"]
    for rendered in generic:
        sheet = _sheet(rendered.content)
        assert [c.value for c in sheet[1]] == ["序号", "户名", "账号", "金额", "开户银行", "用途"]
        assert sheet.title == "代发工资"
        for row in sheet.iter_rows(min_row=2):
            assert row[2].data_type == "s" and row[3].data_type == "n" and row[3].number_format == "0.00"
            assert row[4].value in ("中国邮政储蓄银行", "广西农村信用社") and row[5].value == PURPOSE


def test_control_sheet_and_zip_equal_the_run(five_banks):
    run = five_banks
    export = bank_export_build(runs=[run], acting_user=None)
    names = sorted(f.name for f in export.files)
    assert len(names) == 5
    archive = zipfile.ZipFile(io.BytesIO(export.zip_bytes()))
    assert sorted(archive.namelist()) == sorted(names + [export.control_name])
    for rendered in export.files:
        assert archive.read(rendered.name) == rendered.content
    sheet = _sheet(archive.read(export.control_name))
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    per_file = {r[2]: (r[3], Decimal(str(r[4]))) for r in rows if r[2] in names}
    assert set(per_file) == set(names)
    for rendered in export.files:
        assert per_file[rendered.name] == (rendered.records, rendered.total)
    grand = next(r for r in rows if r[2] is None and r[3] == sum(f.records for f in export.files) and r[4] is not None)
    assert Decimal(str(grand[4])) == run.net_total
    reconciled = next(r for r in rows if r[0] == str(run))
    assert [Decimal(str(v)) for v in reconciled[2:6]] == [run.net_total, run.net_total, Decimal("0"), Decimal("0")]
    assert sum(f.records for f in export.files) == run.doctor_count == 176


def test_more_payees_than_a_file_holds_are_split_into_numbered_files(october):
    BankFileFormat.objects.filter(code="EBANK").update(max_records=25)
    export = bank_export_build(runs=[october], acting_user=None)
    parts = sorted(f.name for f in export.files if "广西农村信用社" in f.name)
    count = Payslip.objects.filter(run=october, bank_name="广西农村信用社").count()
    assert len(parts) == -(-count // 25) and parts[0].endswith("_01.xlsx")
    sheets = [_sheet(f.content) for f in export.files if "广西农村信用社" in f.name]
    assert all(s.max_row - 1 <= 25 for s in sheets) and sum(s.max_row - 1 for s in sheets) == count
    assert all(s.cell(2, 1).value == 1 for s in sheets)  # each file numbers its records from 1
    assert sum(f.total for f in export.files) == october.net_total


def test_hostile_names_are_neutralised_in_sheets_and_cannot_break_text_lines(demo):
    abc = list(Doctor.objects.filter(bank_name="中国农业银行").order_by("pk")[:2])
    rural = Doctor.objects.filter(bank_name="广西农村信用社").order_by("pk").first()
    Doctor.objects.filter(pk=abc[0].pk).update(name="=HYPERLINK(\"http://x\",\"y\")")
    Doctor.objects.filter(pk=abc[1].pk).update(name="韦\r\n9999999999999999999 1.000")
    Doctor.objects.filter(pk=rural.pk).update(name="=HYPERLINK(\"http://x\",\"y\")")
    run = approve(calculated_october())
    export = bank_export_build(runs=[run], acting_user=None)
    (txt,) = _file(export, "ABC")
    lines = txt.content.split(b"\n")[:-1]
    assert len(lines) == txt.records and all(len(line) == 138 for line in lines)
    assert any(line[:60].decode("gbk").rstrip() == "韦 9999999999999999999 1.000" for line in lines)
    sheet = _sheet(next(f for f in export.files if "广西农村信用社" in f.name).content)
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    hostile = [c for c in cells if "HYPERLINK" in str(c.value)]
    assert len(hostile) == 1 and hostile[0].data_type == "s" and hostile[0].value.startswith("'=")
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_a_character_gbk_cannot_hold_is_refused_naming_the_doctor(demo):
    doctor = Doctor.objects.filter(bank_name="中国农业银行").order_by("pk").first()
    Doctor.objects.filter(pk=doctor.pk).update(name="𠮷祥")
    run = approve(calculated_october())
    with pytest.raises(BankFileError) as refused:
        bank_export_build(runs=[run], acting_user=None)
    assert "𠮷祥" in str(refused.value) and "𠮷" in str(refused.value)
    # The same doctor in a sheet (no encoding limit) is written as spelled.
    PayingBank.objects.filter(bank_name="中国农业银行").update(file_format=BankFileFormat.objects.get(code="ICBC"))
    export = bank_export_build(runs=[run], acting_user=None)
    sheet = _sheet(next(f for f in export.files if "中国农业银行" in f.name).content)
    assert "𠮷祥" in [row[1].value for row in sheet.iter_rows(min_row=2)]


def test_a_value_longer_than_its_field_is_refused_not_cut(demo):
    doctor = Doctor.objects.filter(bank_name="中国农业银行").order_by("pk").first()
    Doctor.objects.filter(pk=doctor.pk).update(name="长" * 31)  # 62 GBK bytes in a 60-byte field
    run = approve(calculated_october())
    with pytest.raises(BankFileError) as refused:
        bank_export_build(runs=[run], acting_user=None)
    assert "长" * 31 in str(refused.value) and "62" in str(refused.value) and "60" in str(refused.value)
