import io

import pytest
from openpyxl import Workbook

from staffing.importing import IMPORT_COLUMNS, doctors_import
from staffing.models import Doctor, Posting
from tests.factories import FacilityFactory, make_id_number

pytestmark = pytest.mark.django_db


def row(n, clinic_code, **overrides):
    import datetime

    birth = datetime.date(1980 + n, 3, 5)
    values = {
        "name": f"导入医生{n}",
        "sex": "男",
        "birth_date": birth.isoformat(),
        "id_number": make_id_number(birth, n, "M"),
        "mobile": f"1390000{n:04d}",
        "qualification": "乡村医生",
        "licence_number": f"L{n}",
        "licence_expiry": "2029-01-01",
        "hire_date": "2021-01-01",
        "clinic_code": clinic_code,
        "bank_name": "农行",
        "bank_account": f"62{n:010d}",
        "insurance_code": f"IMP{n:04d}",
    }
    values.update(overrides)
    return [values[c] for c in IMPORT_COLUMNS]


def csv_bytes(rows):
    from core.tabular import csv_text

    return csv_text(IMPORT_COLUMNS, rows).encode("utf-8")


def test_good_csv_creates_doctors_with_postings():
    clinic = FacilityFactory()
    report = doctors_import(upload=csv_bytes([row(1, clinic.code), row(2, clinic.code)]), filename="d.csv", acting_user=None)
    assert report.ok and report.created == 2
    assert Posting.objects.filter(facility=clinic, end_date__isnull=True).count() == 2


def test_bad_rows_are_all_reported_and_nothing_is_half_imported():
    clinic = FacilityFactory()
    rows = [
        row(1, clinic.code),
        row(2, clinic.code, id_number="451028198203050021"),  # wrong check character
        row(3, clinic.code, mobile="12345"),
        row(4, "999999999999"),
        row(5, clinic.code, birth_date="1985-02-30"),
    ]
    report = doctors_import(upload=csv_bytes(rows), filename="d.csv", acting_user=None)

    assert not report.ok
    by_row = dict(report.errors)
    assert set(by_row) == {3, 4, 5, 6}
    assert "校验码" in by_row[3]
    assert "手机号" in by_row[4]
    assert "999999999999" in by_row[5]
    assert "日期" in by_row[6]
    assert Doctor.objects.count() == 0


def test_xlsx_is_read_the_same_way_and_reimport_updates():
    clinic = FacilityFactory()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(IMPORT_COLUMNS)
    sheet.append(row(7, clinic.code))
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert doctors_import(upload=buffer.getvalue(), filename="d.xlsx", acting_user=None).created == 1
    again = doctors_import(upload=buffer.getvalue(), filename="d.xlsx", acting_user=None)
    assert again.ok and again.created == 0 and again.updated == 0 and again.unchanged == 1
    assert Doctor.objects.count() == 1


def test_reimport_with_a_changed_value_updates_only_that_field():
    clinic = FacilityFactory()
    doctors_import(upload=csv_bytes([row(8, clinic.code)]), filename="d.csv", acting_user=None)
    report = doctors_import(upload=csv_bytes([row(8, clinic.code, mobile="13912345678")]), filename="d.csv", acting_user=None)
    assert report.ok and report.updated == 1
    doctor = Doctor.objects.get()
    assert doctor.mobile == "13912345678" and doctor.bank_account == "620000000008"


def test_file_without_required_columns_is_refused_whole():
    from core.tabular import TableError

    with pytest.raises(TableError) as excinfo:
        doctors_import(upload=b"name,sex\n", filename="d.csv", acting_user=None)
    assert "id_number" in str(excinfo.value)


def test_an_id_number_repeated_in_the_file_names_the_first_row():
    clinic = FacilityFactory()
    first = row(1, clinic.code)
    again = row(2, clinic.code, id_number=first[IMPORT_COLUMNS.index("id_number")])
    report = doctors_import(upload=csv_bytes([first, again]), filename="d.csv", acting_user=None)
    assert dict(report.errors) == {3: "身份证号与本文件第 2 行重复。"}
    assert Doctor.objects.count() == 0


def test_the_plan_lists_each_change_with_old_and_new_values():
    from staffing.importing import doctors_import_plan

    clinic = FacilityFactory()
    doctors_import(upload=csv_bytes([row(9, clinic.code)]), filename="d.csv", acting_user=None)
    plan = doctors_import_plan(
        upload=csv_bytes([row(9, clinic.code, bank_account="6299999999994321", licence_expiry="清空"), row(10, clinic.code)]),
        filename="d.csv", acting_user=None,
    )
    assert plan.ok and [r.action for r in plan.rows] == ["update", "create"]
    changes = {c.field: (c.old, c.new) for c in plan.rows[0].changes}
    assert changes["bank_account"] == ("****0009", "****4321")
    assert changes["licence_expiry"][0] == "2029-01-01"
    assert plan.bank_account_changes == 1 and plan.rows[0].bank_account_changes
    assert Doctor.objects.count() == 1, "a plan saves nothing"


def test_full_width_digits_in_the_id_number_match_the_stored_doctor():
    clinic = FacilityFactory()
    doctors_import(upload=csv_bytes([row(11, clinic.code)]), filename="d.csv", acting_user=None)
    id_number = Doctor.objects.get().id_number
    wide = id_number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    report = doctors_import(upload=csv_bytes([row(11, clinic.code, id_number=wide)]), filename="d.csv", acting_user=None)
    assert report.ok and report.created == 0 and Doctor.objects.count() == 1


# --- The same empty-cell rule in the holiday calendar import ----------------------------------

def test_holiday_import_empty_cell_keeps_the_stored_kind_and_name():
    from staffing.rosters.models import HolidayDay
    from staffing.rosters.services.holidays import holiday_calendar_import

    first = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,调休,春节\n".encode()
    assert holiday_calendar_import(upload=first, filename="2027.csv").ok
    again = "date,kind,name\n2027-01-01,,\n2027-02-06,调休,春节补班\n".encode()
    report = holiday_calendar_import(upload=again, filename="2027.csv")
    assert report.ok
    assert HolidayDay.objects.get(date="2027-01-01").name == "元旦"
    assert HolidayDay.objects.get(date="2027-01-01").kind == HolidayDay.Kind.HOLIDAY
    assert HolidayDay.objects.get(date="2027-02-06").name == "春节补班"


def test_holiday_import_refuses_clearing_a_required_cell_and_an_empty_cell_for_a_new_date():
    from staffing.rosters.models import HolidayDay
    from staffing.rosters.services.holidays import holiday_calendar_import

    assert holiday_calendar_import(upload="date,kind,name\n2027-01-01,holiday,元旦\n".encode(), filename="2027.csv").ok
    report = holiday_calendar_import(upload="date,kind,name\n2027-01-01,holiday,清空\n2027-05-01,holiday,\n".encode(), filename="2027.csv")
    assert [n for n, _ in report.errors] == [2, 3]
    assert HolidayDay.objects.get(date="2027-01-01").name == "元旦"


def test_every_import_page_states_the_rule_from_one_place():
    from core.imports import NEW_ROWS_RULE, UPDATE_RULE, empty_cell_rule

    assert empty_cell_rule("update") == str(UPDATE_RULE) and "清空" in empty_cell_rule("update")
    assert empty_cell_rule("new") == str(NEW_ROWS_RULE)
