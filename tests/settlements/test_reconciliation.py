"""Reconciliation with the bureau: each status, totals, rerun replaces, export, command."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from openpyxl import load_workbook

from clinics.settlements.models import Reconciliation, ReconciliationItem
from clinics.settlements.selectors import reconciliation_rows
from clinics.settlements.services import reconciliation_run, settlements_import, statement_import
from core.tabular import csv_text
from tests.settlements.helpers import DAY, numbered, row

pytestmark = pytest.mark.django_db
TOTAL_HEADERS = ["fixmedins_code", "insutype", "clr_type", "setl_cnt", "medfee_sumamt", "fund_pay_sumamt", "acct_pay"]
DETAIL_HEADERS = ["setl_id", "fixmedins_code", "insutype", "clr_type", "medfee_sumamt", "fund_pay_sumamt", "acct_pay",
                  "refd_setl_flag"]


def totals_file(lines) -> bytes:
    return csv_text(TOTAL_HEADERS, lines).encode()


def detail_file(lines) -> bytes:
    return csv_text(DETAIL_HEADERS, lines).encode()


@pytest.fixture
def logged(clinic, other_clinic, clerk):
    """Clinic: S1, S2, S3 settled and a reversal R1 of S1; other clinic: S4."""
    rows = [row(clinic, 1), row(clinic, 2), row(clinic, 3), row(other_clinic, 4),
            row(clinic, 5, init_setl_id=row(clinic, 1)["setl_id"])]
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered(rows))
    assert batch.accepted == 5
    return rows


def run(totals, details=None, month=DAY):
    statement = statement_import(month=month, statement_data=totals_file(totals), statement_filename="t.csv",
                                 detail_data=detail_file(details) if details is not None else None,
                                 detail_filename="d.csv")
    return {r.facility_id: r for r in reconciliation_run(statement=statement)}


def test_totals_balanced_net_of_reversal(clinic, other_clinic, logged):
    results = run([[clinic.code, "390", "11", 2, "100.00", "80.00", "4.00"],
                   [other_clinic.code, "390", "11", 1, "50.00", "40.00", "2.00"]])
    assert results[clinic.pk].balanced and results[other_clinic.pk].balanced
    assert results[clinic.pk].our_count == 2


def test_totals_that_differ_are_not_balanced(clinic, other_clinic, logged):
    results = run([[clinic.code, "390", "11", 3, "150.00", "120.00", "6.00"],
                   [other_clinic.code, "390", "11", 1, "50.00", "40.00", "2.00"]])
    assert not results[clinic.pk].balanced
    assert results[other_clinic.pk].balanced
    line = results[clinic.pk].totals.get()
    assert (line.our_count, line.bureau_count, str(line.our_medfee), str(line.bureau_medfee)) == (2, 3, "100.00", "150.00")


def test_clinic_only_at_the_bureau(clinic, other_clinic, logged):
    from tests.factories import FacilityFactory

    third = FacilityFactory()
    results = run([[clinic.code, "390", "11", 2, "100.00", "80.00", "4.00"],
                   [other_clinic.code, "390", "11", 1, "50.00", "40.00", "2.00"],
                   [third.code, "310", "11", 1, "10.00", "10.00", "0.00"]])
    assert not results[third.pk].balanced
    assert results[third.pk].our_count == 0


def test_each_detail_status(clinic, other_clinic, logged):
    s = {n: row(clinic, n)["setl_id"] for n in (1, 2, 3, 5)}
    details = [
        [s[1], clinic.code, "390", "11", "50.00", "40.00", "2.00", ""],    # matched
        [s[5], clinic.code, "390", "11", "50.00", "40.00", "2.00", "1"],   # the refund: matched (stored negative)
        [s[2], clinic.code, "390", "11", "55.00", "40.00", "2.00", ""],    # amounts differ
        ["BUREAUONLY", clinic.code, "390", "11", "20.00", "20.00", "0.00", ""],  # missing here
        # s[3] is missing at the bureau
        [row(other_clinic, 4)["setl_id"], other_clinic.code, "390", "11", "50.00", "40.00", "2.00", ""],
    ]
    results = run([[clinic.code, "390", "11", 2, "100.00", "80.00", "4.00"],
                   [other_clinic.code, "390", "11", 1, "50.00", "40.00", "2.00"]], details)
    mine = results[clinic.pk]
    assert (mine.matched, mine.amounts_differ, mine.missing_here, mine.missing_at_bureau) == (2, 1, 1, 1)
    assert not mine.balanced, "totals agree but detail lines do not"
    assert results[other_clinic.pk].balanced and results[other_clinic.pk].matched == 1
    status = dict(ReconciliationItem.objects.filter(reconciliation=mine).values_list("setl_id", "status"))
    assert status == {s[2]: "amounts_differ", "BUREAUONLY": "missing_here", s[3]: "missing_bureau"}, (
        "matched lines are counted, not stored"
    )


def test_rerun_replaces_the_earlier_result(clinic, other_clinic, logged):
    run([[clinic.code, "390", "11", 9, "1.00", "1.00", "0.00"]])
    first_ids = set(Reconciliation.objects.values_list("pk", flat=True))
    results = run([[clinic.code, "390", "11", 2, "100.00", "80.00", "4.00"],
                   [other_clinic.code, "390", "11", 1, "50.00", "40.00", "2.00"]])
    assert Reconciliation.objects.count() == 2
    assert not first_ids & set(Reconciliation.objects.values_list("pk", flat=True))
    assert all(r.balanced for r in results.values())


def test_bad_statement_is_refused_with_row_numbers(clinic, logged):
    with pytest.raises(ValidationError) as error:
        statement_import(month=DAY, statement_filename="t.csv",
                         statement_data=totals_file([[clinic.code, "390", "11", "x", "1.00", "1.00", "0.00"],
                                                     ["000000000000", "390", "11", 1, "1.00", "1.00", "0.00"]]))
    text = " ".join(error.value.messages)
    assert "第 2 行" in text and "不是整数" in text
    assert "第 3 行" in text and "未知的卫生室编码" in text


def test_bad_detail_file_is_refused(clinic, logged):
    with pytest.raises(ValidationError) as error:
        statement_import(month=DAY, statement_filename="t.csv",
                         statement_data=totals_file([[clinic.code, "390", "11", 2, "100.00", "80.00", "4.00"]]),
                         detail_data=detail_file([["S1", clinic.code, "390", "11", "abc", "1.00", "0.00", ""]]),
                         detail_filename="d.csv")
    assert "medfee_sumamt “abc” 不是金额" in " ".join(error.value.messages)


def test_export_rows(clinic, other_clinic, logged):
    results = list(run([[clinic.code, "390", "11", 2, "100.00", "80.00", "4.00"]]).values())
    headers, rows = reconciliation_rows(sorted(results, key=lambda r: r.facility.code))
    assert headers[0] == "卫生室编码"
    assert {r[3] for r in rows} == {"是", "否"}


def test_command(clinic, other_clinic, logged, tmp_path):
    statement = tmp_path / "t.csv"
    statement.write_bytes(totals_file([[clinic.code, "390", "11", 2, "100.00", "80.00", "4.00"]]))
    out = io.StringIO()
    call_command("reconcile_settlements", "--month", f"{DAY:%Y-%m}", "--statement", str(statement), stdout=out)
    assert "2 个卫生室中 1 个账账相符" in out.getvalue()
    assert other_clinic.code in out.getvalue()


def test_admin_export_is_xlsx(clinic, other_clinic, logged, client, county_admin):
    run([[clinic.code, "390", "11", 2, "100.00", "80.00", "4.00"]])
    client.force_login(county_admin)
    response = client.get(f"/admin/settlements/reconciliation/export/?month={DAY:%Y-%m}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 3
