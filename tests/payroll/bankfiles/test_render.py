"""The rendering rules on formats an officer might enter: header and trailer records, summary
cells of a sheet (吉林银行's B2/B3), delimiters and quoting, amounts in fen."""

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from staffing.payroll.bankfiles.formats import format_problems
from staffing.payroll.bankfiles.render import BankFileError, Payee, Spec, render_files
from staffing.payroll.models import BankFileColumn, BankFileFormat, BankFileSummaryField

OCT = datetime.date(2026, 10, 1)
TODAY = datetime.date(2026, 11, 3)
F = BankFileColumn.Field
K = BankFileSummaryField.Kind


def _payees(*names):
    return [Payee(payslip_id=n, doctor_id=n, name=name, clinic="河口村卫生室", account=f"62300000000000000{n:02d}",
                  amount=Decimal("3100.50") + n, purpose="2026年10月村医报酬") for n, name in enumerate(names, 1)]


def _spec(fmt, columns, header=(), trailer=()):
    cols = tuple(BankFileColumn(position=i, **c) for i, c in enumerate(columns, 1))
    head = tuple(BankFileSummaryField(part="header", position=i, **f) for i, f in enumerate(header, 1))
    tail = tuple(BankFileSummaryField(part="trailer", position=i, **f) for i, f in enumerate(trailer, 1))
    assert format_problems(fmt, cols, head + tail) == []
    return Spec(file_format=fmt, columns=cols, header=head, trailer=tail)


def test_delimited_utf8_with_header_and_trailer_records():
    fmt = BankFileFormat(code="T", name="t", file_type="delimited", encoding="utf-8", line_ending="crlf", delimiter="|", quote_char='"')
    spec = _spec(fmt, [{"field": F.SEQUENCE}, {"field": F.ACCOUNT}, {"field": F.NAME}, {"field": F.AMOUNT}, {"field": F.PURPOSE}],
                 header=[{"kind": K.CONSTANT, "value": "H"}, {"kind": K.MONTH}, {"kind": K.RECORD_COUNT}, {"kind": K.TOTAL_AMOUNT}],
                 trailer=[{"kind": K.CONSTANT, "value": "T"}, {"kind": K.DATE}])
    (rendered,) = render_files(spec, _payees("韦|一", 'Li "Two"'), stem="x", month=OCT, today=TODAY)
    lines = rendered.content.decode("utf-8").split("\r\n")
    assert lines[0] == "H|202610|2|6204.00"
    assert lines[1] == '1|6230000000000000001|"韦|一"|3101.50|2026年10月村医报酬'
    assert lines[2] == '2|6230000000000000002|"Li ""Two"""|3102.50|2026年10月村医报酬'
    assert lines[3] == "T|20261103" and lines[4] == ""


def test_a_delimiter_in_a_value_without_a_quote_character_is_refused():
    fmt = BankFileFormat(code="T", name="t", file_type="delimited", encoding="gbk", line_ending="lf", delimiter=",")
    spec = _spec(fmt, [{"field": F.NAME}, {"field": F.ACCOUNT}, {"field": F.AMOUNT}])
    with pytest.raises(BankFileError) as refused:
        render_files(spec, _payees("韦,一"), stem="x", month=OCT, today=TODAY)
    assert "韦,一" in str(refused.value) and "河口村卫生室" in str(refused.value)


def test_amounts_in_fen_right_aligned_zero_padded():
    fmt = BankFileFormat(code="T", name="t", file_type="fixed", encoding="gbk", line_ending="lf", amount_unit="fen")
    spec = _spec(fmt, [{"field": F.ACCOUNT, "width": 20}, {"field": F.NAME, "width": 10}, {"field": F.AMOUNT, "width": 12, "align": "right", "fill": "0"}],
                 trailer=[{"kind": K.RECORD_COUNT, "width": 5, "align": "right", "fill": "0"}, {"kind": K.TOTAL_AMOUNT, "width": 15, "align": "right", "fill": "0"}])
    (rendered,) = render_files(spec, _payees("韦一"), stem="x", month=OCT, today=TODAY)
    line, trailer, _end = rendered.content.split(b"\n")
    assert line == b"6230000000000000001 " + "韦一".encode("gbk") + b"      " + b"000000310150"
    assert trailer == b"00001" + b"000000000310150"


def test_a_sheet_with_summary_cells_like_jilin_bank():
    fmt = BankFileFormat(code="JL", name="吉林银行", file_type="xlsx", title_row=True, first_data_row=5, sheet_name="代发工资模板")
    spec = _spec(fmt, [{"field": F.SEQUENCE, "title": "序号"}, {"field": F.ACCOUNT, "title": "账号"}, {"field": F.NAME, "title": "户名"},
                       {"field": F.EMPTY, "title": ""}, {"field": F.AMOUNT, "title": "金额"}],
                 header=[{"kind": K.CONSTANT, "cell": "A2", "value": "总金额"}, {"kind": K.TOTAL_AMOUNT, "cell": "B2"},
                         {"kind": K.CONSTANT, "cell": "A3", "value": "总笔数"}, {"kind": K.RECORD_COUNT, "cell": "B3"}])
    (rendered,) = render_files(spec, _payees("韦一", "=1+1"), stem="x", month=OCT, today=TODAY)
    sheet = load_workbook(io.BytesIO(rendered.content)).active
    assert sheet.title == "代发工资模板"
    assert sheet["B2"].data_type == "n" and Decimal(str(sheet["B2"].value)) == Decimal("6204.00") and sheet["B2"].number_format == "0.00"
    assert sheet["B3"].value == 2 and sheet["A1"].value is None
    assert [c.value for c in sheet[4]] == ["序号", "账号", "户名", None, "金额"]
    assert sheet["B5"].value == "6230000000000000001" and sheet["B5"].data_type == "s" and sheet["D5"].value is None
    assert sheet["C6"].value == "'=1+1" and sheet["C6"].data_type == "s"
    assert sheet["E6"].data_type == "n" and sheet["E6"].number_format == "0.00"


def test_format_rules_refuse_what_could_not_write_a_file():
    fixed = BankFileFormat(code="T", name="t", file_type="fixed")
    cols = [BankFileColumn(position=1, field=F.NAME), BankFileColumn(position=2, field=F.ACCOUNT, width=0)]
    problems = format_problems(fixed, cols, [])
    assert len(problems) >= 3  # no amount column, widths missing, a width not positive
    sheet = BankFileFormat(code="S", name="s", file_type="xlsx", title_row=True)
    cols = [BankFileColumn(position=i, field=f) for i, f in enumerate((F.NAME, F.ACCOUNT, F.AMOUNT), 1)]
    assert format_problems(sheet, cols, [BankFileSummaryField(part="header", position=1, kind=K.TOTAL_AMOUNT, cell="ZZ")]) != []
    assert format_problems(sheet, cols, [BankFileSummaryField(part="header", position=1, kind=K.TOTAL_AMOUNT, cell="B2")]) != []  # inside the data
    sheet.first_data_row = 5
    assert format_problems(sheet, cols, [BankFileSummaryField(part="header", position=1, kind=K.TOTAL_AMOUNT, cell="B2")]) == []
    assert format_problems(BankFileFormat(code="D", name="d", file_type="delimited"), cols, []) != []  # no delimiter


def test_an_amount_in_yuan_with_fewer_than_two_decimals_is_refused():
    """Pay is to the fen: a yuan format with 0 or 1 decimals would round each payment and the file
    would pay another sum than the run."""
    cols = [BankFileColumn(position=i, field=f) for i, f in enumerate((F.NAME, F.ACCOUNT, F.AMOUNT), 1)]
    for decimals, refused in ((0, True), (1, True), (2, False), (3, False)):
        sheet = BankFileFormat(code="S", name="s", file_type="xlsx", amount_unit="yuan", amount_decimals=decimals)
        assert (format_problems(sheet, cols, []) != []) is refused, decimals
    whole_fen = BankFileFormat(code="F", name="f", file_type="xlsx", amount_unit="fen", amount_decimals=0)
    assert format_problems(whole_fen, cols, []) == []
