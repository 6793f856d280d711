"""Reconciliation the platform's way: Cunyi's side of 3201 per insutype × clr_type × clearing agency
over a date range (reversals netted), the platform's answers as the record, the 3202 upload file
byte for byte, and the platform's 3202 result imported and classified."""

import csv
import datetime
import io
import json
import re
import zipfile
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from clinics.settlements.models import Reconciliation, ReconciliationItem, ReconciliationTotal, SettlementRecord
from clinics.settlements.services import answer_record, answers_import, reconciliation_compute, settlements_import
from clinics.settlements.services.reconciliation import (
    detail_file,
    detail_rows,
    input_fields,
    parse_result,
    result_import,
)
from core.models import AuditEntry
from tests.settlements.helpers import numbered, row

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")
OCT1, OCT15, OCT31 = datetime.date(2026, 10, 1), datetime.date(2026, 10, 15), datetime.date(2026, 10, 31)
A, B = "451028", "450000"  # two clearing agencies (clr_optins)


def s(facility, n):
    return row(facility, n)["setl_id"]


@pytest.fixture
def logged(clinic, other_clinic, clerk):
    """Clinic, 1–15 October: S1, S2 (390/11/A), S3 (310/11/A), S4 (390/11/B), R5 reversing S1;
    S6 on 15 October 23:30 (in), S8 on 16 October 00:10 (out); other clinic: S7 (390/11/A)."""
    rows = [
        row(clinic, 1, clr_optins=A), row(clinic, 2, clr_optins=A), row(clinic, 3, insutype="310", clr_optins=A),
        row(clinic, 4, clr_optins=B), row(clinic, 5, clr_optins=A, init_setl_id=s(clinic, 1)),
        row(clinic, 6, clr_optins=A, setl_time="2026-10-15 23:30:00"),
        row(clinic, 8, clr_optins=A, setl_time="2026-10-16 00:10:00"),
        row(other_clinic, 7, clr_optins=A),
    ]
    log(rows, clerk)
    return rows


def log(rows, clerk):
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered(rows))
    assert batch.accepted == len(rows), list(batch.rejected_rows.values_list("reason", flat=True))
    stored = SettlementRecord.objects.filter(setl_id__in=[r["setl_id"] for r in rows]).values_list("setl_id", "clr_optins")
    assert dict(stored) == {r["setl_id"]: r["clr_optins"] for r in rows}


def lines_of(rec):
    return {(t.insutype, t.clr_type, t.setl_optins): t for t in rec.totals.all()}


# --- 3201 ------------------------------------------------------------------------------------------


def test_3201_per_group_over_a_date_range_with_the_reversal_netted(clinic, other_clinic, logged):
    results = {r.facility_id: r for r in reconciliation_compute(begin=OCT1, end=OCT15)}
    mine = lines_of(results[clinic.pk])
    assert set(mine) == {("390", "11", A), ("310", "11", A), ("390", "11", B)}
    # S1 + S2 + S6 − R5 (S8 is on 16 October, outside the period)
    first = mine[("390", "11", A)]
    assert (first.fixmedins_setl_cnt, first.medfee_sumamt, first.fund_pay_sumamt, first.acct_pay) == (
        2, Decimal("100.00"), Decimal("80.00"), Decimal("4.00"))
    assert input_fields(first) == {
        "insutype": "390", "clr_type": "11", "setl_optins": A, "stmt_begndate": "2026-10-01",
        "stmt_enddate": "2026-10-15", "medfee_sumamt": "100.00", "fund_pay_sumamt": "80.00", "acct_pay": "4.00",
        "fixmedins_setl_cnt": 2, "refd_setl_flag": "0",
    }
    assert mine[("310", "11", A)].fixmedins_setl_cnt == 1 and mine[("390", "11", B)].fixmedins_setl_cnt == 1
    assert results[clinic.pk].balanced is None, "no platform answer yet: Cunyi does not decide"
    assert lines_of(results[other_clinic.pk])[("390", "11", A)].fixmedins_setl_cnt == 1
    # The whole month counts S8 too.
    month = {r.facility_id: r for r in reconciliation_compute(begin=OCT1, end=OCT31)}
    assert lines_of(month[clinic.pk])[("390", "11", A)].fixmedins_setl_cnt == 3


def test_the_platforms_answer_is_the_record(clinic, logged, clerk):
    (rec,) = reconciliation_compute(begin=OCT1, end=OCT15, facility_ids=[clinic.pk])
    lines = list(rec.totals.all())
    for line in lines[:-1]:
        answer_record(line=line, stmt_rslt="0", acting_user=clerk)
    rec.refresh_from_db()
    assert rec.balanced is None, "one line still unanswered"
    answer_record(line=lines[-1], stmt_rslt="1", stmt_rslt_dscr="中心多 1 笔", acting_user=clerk)
    rec.refresh_from_db()
    assert rec.balanced is False
    answer_record(line=lines[-1], stmt_rslt="0", acting_user=clerk)
    rec.refresh_from_db()
    assert rec.balanced is True
    assert AuditEntry.objects.filter(action="settlement.reconciliation_answer", object_id=str(rec.pk)).count() == 4
    with pytest.raises(ValidationError):
        answer_record(line=lines[0], stmt_rslt="000000", acting_user=clerk)


def test_recomputing_keeps_unchanged_answers_and_clears_changed_ones(clinic, logged, clerk):
    (rec,) = reconciliation_compute(begin=OCT1, end=OCT15, facility_ids=[clinic.pk])
    for line in rec.totals.all():
        answer_record(line=line, stmt_rslt="0", acting_user=clerk)
    log([row(clinic, 9, clr_optins=B)], clerk)
    (again,) = reconciliation_compute(begin=OCT1, end=OCT15, facility_ids=[clinic.pk])
    assert again.pk == rec.pk
    lines = lines_of(again)
    assert lines[("390", "11", A)].stmt_rslt == "0"
    assert (lines[("390", "11", B)].stmt_rslt, lines[("390", "11", B)].fixmedins_setl_cnt) == ("", 2)
    assert again.balanced is None
    assert AuditEntry.objects.filter(action="settlement.reconciliation_answers_cleared").exists()


def test_answers_imported_from_json_and_csv(clinic, logged, clerk):
    reconciliation_compute(begin=OCT1, end=OCT15)
    answers = [
        {"input": {"insutype": "390", "clr_type": "11", "setl_optins": A, "stmt_begndate": "2026-10-01",
                   "stmt_enddate": "2026-10-15"}, "fixmedins_code": clinic.platform_code or clinic.code,
         "output": {"stmtinfo": {"setl_optins": A, "stmt_rslt": "0", "stmt_rslt_dscr": "平"}}},
        {"fixmedins_code": clinic.code, "insutype": "310", "clr_type": "11", "setl_optins": A,
         "stmtinfo": {"stmt_rslt": "2", "stmt_rslt_dscr": "医药机构多"}},
    ]
    lines = answers_import(data=json.dumps(answers, ensure_ascii=False).encode(), filename="3201.json",
                           begin=OCT1, end=OCT15, acting_user=clerk)
    assert [(t.insutype, t.stmt_rslt, t.answer_source) for t in lines] == [("390", "0", "imported"),
                                                                          ("310", "2", "imported")]
    table = ("fixmedins_code,insutype,clr_type,setl_optins,stmt_rslt,stmt_rslt_dscr,stmt_begndate,stmt_enddate\r\n"
             f"{clinic.code},390,11,{B},3,数据不一致,2026-10-01,2026-10-15\r\n").encode()
    (line,) = answers_import(data=table, filename="3201.csv", acting_user=clerk)
    assert (line.setl_optins, line.stmt_rslt, line.stmt_rslt_dscr) == (B, "3", "数据不一致")
    assert Reconciliation.objects.get(facility=clinic, stmt_begndate=OCT1).balanced is False


def test_a_bad_answer_refuses_the_whole_file(clinic, logged, clerk):
    reconciliation_compute(begin=OCT1, end=OCT15)
    answers = [{"fixmedins_code": clinic.code, "insutype": "390", "clr_type": "11", "setl_optins": A,
                "stmt_rslt": "0"},
               {"fixmedins_code": clinic.code, "insutype": "390", "clr_type": "21", "setl_optins": A,
                "stmt_rslt": "0"},
               {"fixmedins_code": "000000000000", "insutype": "390", "clr_type": "11", "stmt_rslt": "9"}]
    with pytest.raises(ValidationError) as error:
        answers_import(data=json.dumps(answers).encode(), filename="a.json", begin=OCT1, end=OCT15, acting_user=clerk)
    text = " ".join(error.value.messages)
    assert "第 2 行" in text and "第 3 行" in text and "第 1 行" not in text
    assert not ReconciliationTotal.objects.exclude(stmt_rslt="").exists(), "nothing half-recorded"
    with pytest.raises(ValidationError):
        answers_import(data=b"{not json", filename="a.json", acting_user=clerk)


# --- 3202: the upload file -------------------------------------------------------------------------


def test_the_3202_file_byte_for_byte(clinic, logged):
    content, summary = detail_file(detail_rows(begin=OCT1, end=OCT15, facility_ids=[clinic.pk], setl_optins=A,
                                               insutype="390"))
    m = {n: row(clinic, n) for n in (1, 2, 5, 6)}
    expected = "\n".join([
        f"{m[1]['setl_id']}\t{m[1]['mdtrt_id']}\t{m[1]['psn_no']}\t50.00\t40.00\t2.00\t0",
        f"{m[2]['setl_id']}\t{m[2]['mdtrt_id']}\t{m[2]['psn_no']}\t50.00\t40.00\t2.00\t0",
        f"{m[5]['setl_id']}\t{m[5]['mdtrt_id']}\t{m[5]['psn_no']}\t-50.00\t-40.00\t-2.00\t1",
        f"{m[6]['setl_id']}\t{m[6]['mdtrt_id']}\t{m[6]['psn_no']}\t50.00\t40.00\t2.00\t0",
    ]).encode("utf-8")
    # helpers.row's times are 09:01, 09:02, 09:05 on 12 October, then 15 October 23:30.
    assert content == expected and not content.endswith(b"\n")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8")), dialect="excel-tab"))
    assert [len(r) for r in rows] == [7, 7, 7, 7] and rows[2][6] == "1" and rows[2][3] == "-50.00"
    assert all(cell and cell != "null" for r in rows for cell in r)
    assert (summary.rows, summary.reversals, summary.fixmedins_setl_cnt) == (4, 1, 2)
    assert (summary.medfee_sumamt, summary.fund_pay_sumamt, summary.cash_payamt) == (
        Decimal("100.00"), Decimal("80.00"), Decimal("16.00"))


def test_export_command_writes_the_file_and_its_3202_totals(clinic, logged, tmp_path):
    clinic.platform_code = "H45102800077"
    clinic.save(update_fields=["platform_code"])
    out, target = io.StringIO(), tmp_path / "3202.txt"
    call_command("export_reconciliation_detail", "--month", "2026-10", "--clinic", "H45102800077", "--out",
                 str(target), stdout=out)
    lines = target.read_bytes().split(b"\n")
    assert len(lines) == 7 and all(len(line.split(b"\t")) == 7 for line in lines)
    text = out.getvalue()
    assert CJK.search(text)
    assert "medfee_sumamt=250.00 fund_pay_sumamt=200.00 cash_payamt=40.00 fixmedins_setl_cnt=5" in text
    zipped = tmp_path / "3202.zip"
    call_command("export_reconciliation_detail", "--month", "2026-10", "--clinic", clinic.code, "--out", str(zipped),
                 "--zip", stdout=io.StringIO())
    with zipfile.ZipFile(zipped) as archive:
        assert archive.namelist() == ["3202.txt"] and archive.read("3202.txt") == target.read_bytes()


@pytest.mark.parametrize("argv", [["--month", "2026/10"], ["--month", "2026-13"], ["--month", "2026-10", "--clinic",
                                                                                       "NOSUCH"]])
def test_export_command_refuses_bad_options_in_chinese(argv, tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("export_reconciliation_detail", *argv, "--out", str(tmp_path / "x.txt"))
    assert CJK.search(str(error.value))
    assert not (tmp_path / "x.txt").exists()


# --- 3202: the platform's result -------------------------------------------------------------------


def result_lines(clinic, other_clinic) -> list[str]:
    m = {n: row(clinic, n) for n in (1, 2, 3, 4, 5, 6)}
    return [
        # psn_no, mdtrt_id, setl_id, msgid, stmt_rslt, refd_setl_flag, memo, medfee, fund, acct
        f"{m[1]['psn_no']}\t{m[1]['mdtrt_id']}\t{m[1]['setl_id']}\tH1\t0\t0\tnull\t50.00\t40.00\t2.00",  # balanced
        f"{m[5]['psn_no']}\t{m[5]['mdtrt_id']}\t{m[5]['setl_id']}\tH5\t0\t1\tnull\t-50.00\t-40.00\t-2.00",  # refund
        f"{m[2]['psn_no']}\t{m[2]['mdtrt_id']}\t{m[2]['setl_id']}\tH2\t3\t0\t金额不符\t55.00\t40.00\t2.00",  # differ
        "P99999999\tM99999999\tCENTREONLY\tH9\t1\t0\t中心多\t20.00\t20.00\t0.00",  # missing here
        f"{m[3]['psn_no']}\t{m[3]['mdtrt_id']}\t{m[3]['setl_id']}\tH3\t2\t0\t医药机构多\tnull\tnull\tnull",  # at centre
        f"P00000007\tM00000007\t{s(other_clinic, 7)}\tH7\t1\t0\tnull\t50.00\t40.00\t2.00",  # other clinic
        f"{m[4]['psn_no']}\t{m[4]['mdtrt_id']}\tnull\tH4\t0\t0\tnull\t50.00\t40.00\t2.00",  # by visit
        f"{m[6]['psn_no']}\t{m[6]['mdtrt_id']}\t{m[6]['setl_id']}\tH6\t3\t0\tnull\t50.00\t40.00\t2.00",  # unexplained
    ]


def test_a_result_with_every_outcome_is_kept_and_classified(clinic, other_clinic, logged, clerk):
    data = "\n".join(result_lines(clinic, other_clinic)).encode()
    report = result_import(data=data, filename="result.txt", facility=clinic, begin=OCT1, end=OCT15,
                           acting_user=clerk)
    items = {i.row_number: i for i in ReconciliationItem.objects.filter(reconciliation=report.reconciliation)}
    assert {n: i.status for n, i in items.items()} == {
        1: "matched", 2: "matched", 3: "amounts_differ", 4: "missing_here", 5: "missing_bureau",
        6: "other_scope", 7: "matched", 8: "unexplained"}
    assert [items[n].stmt_rslt for n in range(1, 9)] == ["0", "0", "3", "1", "2", "1", "0", "3"]
    assert (items[3].our_medfee, items[3].bureau_medfee) == (Decimal("50.00"), Decimal("55.00"))
    assert (items[2].our_medfee, items[2].bureau_medfee) == (Decimal("-50.00"), Decimal("-50.00"))
    assert items[6].booked_facility_id == other_clinic.pk and items[6].booked_insutype == "390"
    assert items[7].our_setl_id == s(clinic, 4), "found by mdtrt_id and psn_no"
    assert items[4].memo == "中心多" and items[5].bureau_medfee is None
    rec = report.reconciliation
    assert (rec.matched, rec.amounts_differ, rec.missing_here, rec.missing_at_bureau, rec.other_scope,
            rec.unexplained) == (3, 1, 1, 1, 1, 1)
    assert report.not_in_result == 0 and report.encoding == "utf-8"
    from clinics.settlements.selectors import item_advice

    assert all(CJK.search(item_advice(i)) for i in items.values())
    assert "5.00" in item_advice(items[3]), "the difference is shown"
    assert other_clinic.code in item_advice(items[6])
    assert AuditEntry.objects.filter(action="settlement.reconciliation_result", object_id=str(rec.pk)).exists()
    # Importing again replaces the earlier result.
    result_import(data=data.split(b"\n")[0], filename="result.txt", facility=clinic, begin=OCT1, end=OCT15)
    assert ReconciliationItem.objects.filter(reconciliation=rec).count() == 1


def test_a_reversal_named_by_its_original_with_the_refund_flag(clinic, logged):
    m = row(clinic, 1)
    data = f"{m['psn_no']}\t{m['mdtrt_id']}\t{m['setl_id']}\tH\t0\t1\tnull\t50.00\t40.00\t2.00".encode()
    report = result_import(data=data, filename="result.txt", facility=clinic, begin=OCT1, end=OCT15)
    (item,) = report.items
    assert (item.status, item.our_medfee, item.bureau_medfee) == ("matched", Decimal("-50.00"), Decimal("-50.00"))


def test_result_in_gb18030_and_with_a_bom_and_in_its_zip(clinic, other_clinic, logged):
    text = "\n".join(result_lines(clinic, other_clinic))
    report = result_import(data=text.encode("gb18030"), filename="result.txt", facility=clinic, begin=OCT1, end=OCT15)
    assert report.encoding == "gb18030"
    assert ReconciliationItem.objects.get(reconciliation=report.reconciliation, row_number=3).memo == "金额不符"
    rows, encoding = parse_result(b"\xef\xbb\xbf" + text.encode(), "result.txt")
    assert encoding == "utf-8" and rows[0].psn_no == row(clinic, 1)["psn_no"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("out/result.txt", text.encode())
    rows, _ = parse_result(buffer.getvalue(), "3202-download.zip")
    assert len(rows) == 8


def test_a_result_in_another_encoding_is_refused_in_chinese_and_keeps_the_earlier_one(clinic, logged):
    first = result_import(data="\n".join(result_lines(clinic, clinic)[:1]).encode(), filename="result.txt",
                          facility=clinic, begin=OCT1, end=OCT15)
    with pytest.raises(ValidationError) as error:
        result_import(data=b"P1\tM1\tS1\tH\t0\t0\tnull\t1.00\t1.00\t0.00\xff", filename="result.txt",
                      facility=clinic, begin=OCT1, end=OCT15)
    assert "既不是 UTF-8 也不是 GB18030" in " ".join(error.value.messages)
    assert ReconciliationItem.objects.filter(reconciliation=first.reconciliation).count() == 1


HOSTILE = [
    ("P1\tM1\tS1\tH\t0\t0\tnull\t1.00\t1.00", "第 1 行"),  # 9 columns
    ("P1\tM1\tS1\tH\t0\t0\tnull\t1.00\t1.00\t0.00\n" + "P2\tM2\tS2\tH\t0\t0\tnull\t1,00\t1.00\t0.00", "第 2 行"),
    ("P1\tM1\tS1\tH\t7\t0\tnull\t1.00\t1.00\t0.00", "第 1 行"),  # stmt_rslt
    ("P1\tnull\tnull\tH\t0\t0\tnull\t1.00\t1.00\t0.00", "第 1 行"),  # names no settlement
    ("P1\tM1\tS1\tH\t0\t5\tnull\t1.00\t1.00\t0.00", "第 1 行"),  # refd_setl_flag
    ("P1\tM1\t" + "S" * 31 + "\tH\t0\t0\tnull\t1.00\t1.00\t0.00", "第 1 行"),  # too long
    ("P1\tM1\tS1\tH\t0\t0\tnull\t1E+30\t1.00\t0.00", "第 1 行"),
]


@pytest.mark.parametrize(("text", "where"), HOSTILE)
def test_a_hostile_result_is_refused_whole_with_its_row_numbers(clinic, logged, text, where):
    good = "\n".join(result_lines(clinic, clinic)[:1]).encode()
    first = result_import(data=good, filename="result.txt", facility=clinic, begin=OCT1, end=OCT15)
    with pytest.raises(ValidationError) as error:
        result_import(data=text.encode(), filename="result.txt", facility=clinic, begin=OCT1, end=OCT15)
    assert where in " ".join(error.value.messages) and CJK.search(" ".join(error.value.messages))
    assert list(ReconciliationItem.objects.filter(reconciliation=first.reconciliation).values_list(
        "row_number", flat=True)) == [1], "the earlier result stays, nothing half-imported"


def test_huge_result_files_and_bad_zips_are_refused(clinic, logged, settings):
    settings.UPLOAD_MAX_BYTES = 2000
    big = ("P1\tM1\tS1\tH\t0\t0\tnull\t1.00\t1.00\t0.00\n" * 100).encode()
    for data, name in [(big, "result.txt"), (b"PK\x03\x04 not a zip", "result.zip")]:
        with pytest.raises(ValidationError) as error:
            result_import(data=data, filename=name, facility=clinic, begin=OCT1, end=OCT15)
        assert CJK.search(" ".join(error.value.messages))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("result.txt", b"0" * 10_000_000)  # a small zip that unpacks to 10 MB
    with pytest.raises(ValidationError):
        parse_result(buffer.getvalue(), "result.zip")
    assert not ReconciliationItem.objects.exists()


def test_a_formula_looking_memo_is_kept_as_text_and_exported_safely(clinic, logged, client, county_admin):
    from openpyxl import load_workbook

    memo = "=cmd|' /C calc'!A0"
    data = f"P\tM\tNOWHERE\tH\t1\t0\t{memo}\t1.00\t1.00\t0.00".encode()
    result_import(data=data, filename="result.txt", facility=clinic, begin=OCT1, end=OCT15)
    assert ReconciliationItem.objects.get().memo == memo
    client.force_login(county_admin)
    response = client.get("/admin/settlements/reconciliation/export/?month=2026-10&detail=1")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [c.value for c in sheet[2]]
    assert memo not in values and f"'{memo}" in values
    assert all(c.data_type != "f" for c in sheet[2])
    page = client.get("/admin/settlements/reconciliationitem/")
    assert page.status_code == 200 and b"=cmd|&#x27;" in page.content


# --- The command -----------------------------------------------------------------------------------


def test_reconcile_command_computes_records_answers_and_imports_the_result(clinic, other_clinic, logged, tmp_path):
    answers = tmp_path / "3201.json"
    answers.write_text(json.dumps([{"fixmedins_code": clinic.code, "insutype": "390", "clr_type": "11",
                                    "setl_optins": A, "stmtinfo": {"stmt_rslt": "1", "stmt_rslt_dscr": "中心多"}}]))
    result = tmp_path / "result.txt"
    result.write_text("\n".join(result_lines(clinic, other_clinic)), encoding="utf-8")
    out = io.StringIO()
    call_command("reconcile_settlements", "--begin", "2026-10-01", "--end", "2026-10-15", "--clinic", clinic.code,
                 "--answers", str(answers), "--result", str(result), stdout=out)
    text = out.getvalue()
    assert f"setl_optins={A}" in text and "fixmedins_setl_cnt=2" in text and "stmt_begndate=2026-10-01" in text
    assert text.count("setl_id=") == 8 and CJK.search(text)
    rec = Reconciliation.objects.get(facility=clinic)
    assert rec.balanced is False and rec.missing_here == 1


def test_reconcile_command_takes_the_result_alone_and_reads_its_clinic_and_month(clinic, other_clinic, logged,
                                                                                  tmp_path):
    result = tmp_path / "result.txt"
    result.write_text("\n".join(result_lines(clinic, other_clinic)), encoding="utf-8")
    out = io.StringIO()
    call_command("reconcile_settlements", "--result", str(result), stdout=out)
    text = out.getvalue()
    rec = Reconciliation.objects.get(facility=clinic, stmt_begndate=OCT1, stmt_enddate=OCT31)
    assert (rec.matched, rec.amounts_differ, rec.missing_here, rec.missing_at_bureau, rec.other_scope,
            rec.unexplained) == (3, 1, 1, 1, 1, 1)
    assert f"{clinic.code} {clinic.name}" in text and "2026-10" in text and text.count("setl_id=") == 8
    assert not Reconciliation.objects.filter(facility=other_clinic).exists()  # its one row is the minority


def test_a_result_naming_no_recorded_settlement_needs_the_clinic_and_month(logged, tmp_path):
    result = tmp_path / "result.txt"
    result.write_text("P99999999\tM99999999\tCENTREONLY\tH9\t1\t0\t中心多\t20.00\t20.00\t0.00", encoding="utf-8")
    with pytest.raises(CommandError) as error:
        call_command("reconcile_settlements", "--result", str(result))
    assert "--clinic" in str(error.value) and CJK.search(str(error.value))
    assert not Reconciliation.objects.exists()


@pytest.mark.parametrize("argv", [
    ["--month", "2026/10"],
    ["--month", "2026-10", "--result", "x.txt"],  # no such file
    ["--month", "2026-10", "--statement", "t.csv"],  # the old own-columns statement
    ["--begin", "2026-10-15", "--end", "2026-10-01"],
    [],
])
def test_reconcile_command_refuses_in_chinese(argv, logged):
    with pytest.raises(CommandError) as error:
        call_command("reconcile_settlements", *argv)
    assert CJK.search(str(error.value))
