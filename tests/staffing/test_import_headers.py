"""The doctor import reads the template's Chinese headers (姓名, 身份证号 …), the internal names
older files use (name, id_number …) and both together (姓名（name）); a missing column is named
the way the clerk's file names it, with the internal name in brackets."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from core.tabular import TableError, csv_text
from staffing.importing import (
    COLUMNS,
    IMPORT_COLUMNS,
    TEMPLATE_HEADERS,
    column_name,
    doctors_import,
    doctors_import_plan,
    doctors_import_template,
)
from staffing.models import Doctor
from tests.factories import FacilityFactory
from tests.staffing.test_import import row

pytestmark = pytest.mark.django_db


def test_template_row_one_is_chinese_and_is_read_back_with_its_example_row(county_admin):
    clinic = FacilityFactory()
    data = doctors_import_template(acting_user=county_admin)
    workbook = load_workbook(io.BytesIO(data))
    headers = [c.value for c in workbook.worksheets[0][1]]
    assert headers[:6] == ["姓名", "性别", "出生日期", "身份证号", "手机号", "执业类别"]
    assert all(not h.isascii() for h in headers)  # no internal name left in row 1
    example = [c.value for c in workbook.worksheets[0][2]]
    assert example[0] == "韦小明" and clinic.code in example
    notes = workbook.worksheets[1]
    assert notes.title == "填写说明"
    assert [notes.cell(r, 4).value for r in range(2, 2 + len(COLUMNS))] == IMPORT_COLUMNS
    plan = doctors_import_plan(upload=io.BytesIO(data), filename="模板.xlsx", acting_user=county_admin)
    assert plan.ok, plan.errors
    assert [r.name for r in plan.rows] == ["韦小明"] and plan.rows[0].facility == clinic


@pytest.mark.parametrize("style", ["chinese", "internal", "both"])
def test_a_csv_with_any_of_the_header_styles_imports(style):
    clinic = FacilityFactory()
    header = {
        "chinese": TEMPLATE_HEADERS,
        "internal": IMPORT_COLUMNS,
        "both": [f"{c.header}（{c.name}）" for c in COLUMNS],
    }[style]
    report = doctors_import(upload=csv_text(header, [row(7, clinic.code)]).encode(), filename="d.csv", acting_user=None)
    assert report.ok and report.created == 1
    assert Doctor.objects.get(name="导入医生7").postings.get().facility == clinic


def test_an_xlsx_in_chinese_headers_with_columns_reordered_imports():
    clinic = FacilityFactory()
    values = dict(zip(IMPORT_COLUMNS, row(8, clinic.code), strict=True))
    order = list(reversed(COLUMNS))
    workbook = Workbook()
    workbook.active.append([c.header for c in order])
    workbook.active.append([values[c.name] for c in order])
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = doctors_import(upload=buffer.getvalue(), filename="d.xlsx", acting_user=None)
    assert report.ok and report.created == 1


def test_a_missing_column_is_named_by_its_chinese_header():
    clinic = FacilityFactory()
    header = [h for h in TEMPLATE_HEADERS if h != "出生日期"]
    cells = [v for name, v in zip(IMPORT_COLUMNS, row(9, clinic.code), strict=True) if name != "birth_date"]
    with pytest.raises(TableError) as refused:
        doctors_import_plan(upload=csv_text(header, [cells]).encode(), filename="d.csv", acting_user=None)
    assert "出生日期（birth_date）" in str(refused.value) and "身份证号" not in str(refused.value)


def test_one_column_under_two_spellings_is_refused():
    clinic = FacilityFactory()
    header = [*TEMPLATE_HEADERS, "name"]
    cells = [*row(10, clinic.code), "另一个名字"]
    with pytest.raises(TableError) as refused:
        doctors_import_plan(upload=csv_text(header, [cells]).encode(), filename="d.csv", acting_user=None)
    assert "name" in str(refused.value)


def test_column_name_reads_full_width_and_marked_headers():
    assert column_name(" 身份证号 ") == "id_number"
    assert column_name("姓名*") == "name"
    assert column_name("ＩＤ_ＮＵＭＢＥＲ") == "id_number"
    assert column_name("身份证号(id_number)") == "id_number"
    assert column_name("备注") == "备注"
