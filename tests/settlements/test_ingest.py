"""Ingest: the same outcome on SQLite (Python engine) and PostgreSQL (COPY + SQL engine)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinics.settlements.models import RejectedSettlementRow, SettlementRecord
from clinics.settlements.rules import FIELDS
from clinics.settlements.services import settlements_import
from core.tabular import csv_text, xlsx_bytes
from tests.settlements.helpers import csv_bytes, numbered, row, xlsx_file

pytestmark = pytest.mark.django_db


def reasons(batch) -> dict[int, str]:
    return dict(RejectedSettlementRow.objects.filter(batch=batch).values_list("row_number", "reason"))


def test_good_rows_land_with_masked_id_and_amounts(clinic, clerk):
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 1), row(clinic, 2)]))
    assert (batch.accepted, batch.duplicates, batch.rejected, batch.total_rows) == (2, 0, 0, 2)
    record = SettlementRecord.objects.get(setl_id=row(clinic, 1)["setl_id"])
    assert record.certno_masked == "451028********0012"
    assert str(record.medfee_sumamt) == "50.00"
    assert record.facility == clinic
    assert record.batch_id == batch.pk


def test_same_file_twice_changes_nothing_the_second_time(clinic, clerk):
    rows = [row(clinic, n) for n in range(1, 6)] + [row(clinic, 6, medfee_sumamt="-1")]
    first = settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="s.csv")
    second = settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="s.csv")
    assert (first.accepted, first.duplicates, first.rejected) == (5, 0, 1)
    assert (second.accepted, second.duplicates, second.rejected) == (0, 5, 1)
    assert SettlementRecord.objects.count() == 5
    assert reasons(second) == reasons(first)


def test_xlsx_upload(clinic, clerk):
    batch = settlements_import(source="upload", acting_user=clerk, data=xlsx_file([row(clinic, 1)]), filename="s.xlsx")
    assert batch.accepted == 1


BAD_ROWS = [
    ({"psn_no": "", "setl_time": ""}, "缺少必填字段：psn_no, setl_time"),
    ({"setl_id": "X" * 31}, "（setl_id） 过长"),
    ({"insutype": "999"}, "不是字典“险种类型”中已启用的代码"),
    ({"clr_type": "12"}, "不是字典“清算类别”中已启用的代码"),  # the platform clears 11, 21, 41 and 99
    ({"setl_time": "2026-02-30 10:00:00"}, "不是有效的日期时间"),
    ({"setl_time": "12/10/2026"}, "不是有效的日期时间"),
    ({"setl_time": "2026-10-12 25:00"}, "不是有效的日期时间"),
    ({"setl_time": "2099-01-01 10:00:00"}, "晚于当前时间"),
    ({"acct_pay": "-2.00", "medfee_sumamt": "46.00"}, "（acct_pay） 为负数"),
    ({"hifp_pay": "35.5x"}, "（hifp_pay） “35.5x” 不是金额"),
    ({"hifp_pay": "1.234"}, "（hifp_pay） “1.234” 不是金额"),
    ({"hifp_pay": "39.00"}, "fund_pay_sumamt（40.00）小于 hifp_pay + maf_pay（44.00）"),
    ({"medfee_sumamt": "51.00"}, "medfee_sumamt（51.00）不等于 fund_pay_sumamt + acct_pay + psn_cash_pay + hosp_part_amt（50.00"),
    ({"fixmedins_code": "999999999999"}, "未知的卫生室编码"),
]


def test_each_kind_of_bad_row_is_kept_with_its_reason_and_good_rows_still_land(clinic, clerk):
    """Row 2 is good, then one bad row of each kind (rows 3…), then a good row."""
    rows = [row(clinic, 1)] + [row(clinic, 10 + i, **overrides) for i, (overrides, _) in enumerate(BAD_ROWS)]
    rows.append(row(clinic, 2))
    batch = settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="s.csv")
    assert (batch.accepted, batch.rejected) == (2, len(BAD_ROWS))
    kept = reasons(batch)
    for number, (_, expected) in enumerate(BAD_ROWS, start=3):
        assert expected in kept[number], (number, kept[number])
    rejected = RejectedSettlementRow.objects.get(batch=batch, row_number=3 + len(BAD_ROWS) - 1)
    assert rejected.raw["fixmedins_code"] == "999999999999"


def test_disabled_clinic_is_rejected(clerk):
    from tests.factories import FacilityFactory

    closed = FacilityFactory(settlement_enabled=False)
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([row(closed, 1)]))
    assert batch.rejected == 1
    assert "未开通医保结算" in reasons(batch)[2]


def test_resent_setl_id_with_other_content_is_rejected_not_changed(clinic, clerk):
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 1)]))
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 1, psn_cash_pay="9.00", medfee_sumamt="51.00")]))
    assert batch.rejected == 1
    assert "已记录且内容不同" in reasons(batch)[2]
    assert str(SettlementRecord.objects.get().medfee_sumamt) == "50.00"


def test_repeated_row_in_one_upload(clinic, clerk):
    same, changed = row(clinic, 1), row(clinic, 1, psn_name="别人")
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([same, same, changed]))
    assert (batch.accepted, batch.duplicates, batch.rejected) == (1, 1, 1)
    assert "第 2 行" in reasons(batch)[4]


def test_reversal_is_a_new_record_and_nets_out(clinic, clerk):
    original = row(clinic, 1)
    reversal = row(clinic, 2, init_setl_id=original["setl_id"], setl_time="2026-10-13 10:00:00")
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([original, reversal]))
    assert batch.accepted == 2
    assert SettlementRecord.objects.filter(init_setl_id=original["setl_id"]).count() == 1
    again = settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 3, init_setl_id=original["setl_id"])]))
    assert "已被冲正" in reasons(again)[2]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda c, o: row(c, 9, init_setl_id="NOPE"), "原结算 init_setl_id NOPE 未记录"),
        (lambda c, o: row(o, 9, init_setl_id=row(c, 1)["setl_id"]), "卫生室与原结算"),
        (lambda c, o: row(c, 9, init_setl_id=row(c, 1)["setl_id"], medfee_sumamt="49.00", psn_cash_pay="7.00"), "金额必须与原结算"),
        (lambda c, o: row(c, 9, init_setl_id=row(c, 9)["setl_id"]), "指向了本结算自身"),
    ],
)
def test_bad_reversals(clinic, other_clinic, clerk, make, expected):
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 1)]))
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([make(clinic, other_clinic)]))
    assert batch.rejected == 1
    assert expected in reasons(batch)[2], reasons(batch)


def test_reversal_of_a_reversal_is_refused(clinic, clerk):
    original = row(clinic, 1)
    reversal = row(clinic, 2, init_setl_id=original["setl_id"])
    settlements_import(source="api", acting_user=clerk, rows=numbered([original, reversal]))
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 3, init_setl_id=reversal["setl_id"])]))
    assert "本身是冲正" in reasons(batch)[2]


def test_terminal_may_only_upload_its_own_clinic(clinic, other_clinic, terminal):
    batch = settlements_import(source="api", acting_user=terminal, rows=numbered([row(clinic, 1), row(other_clinic, 2)]))
    assert (batch.accepted, batch.rejected) == (1, 1)
    assert "只能上传本卫生室" in reasons(batch)[3]
    assert batch.facility == clinic


def test_unreadable_file_is_refused_whole(clerk):
    with pytest.raises(ValidationError) as error:
        settlements_import(source="upload", acting_user=clerk, data=b"a,b\n1,2\n", filename="s.csv")
    assert "缺少以下列" in str(error.value)


@pytest.mark.parametrize("filename", ["s.csv", "s.xlsx"])
def test_a_file_naming_a_column_twice_is_refused_whole(clinic, clerk, filename):
    header = [*FIELDS, "setl_id"]
    values = [[*row(clinic, 1).values(), "S-other"]]
    data = csv_text(header, values).encode() if filename.endswith(".csv") else xlsx_bytes(header, values)
    with pytest.raises(ValidationError) as error:
        settlements_import(source="upload", acting_user=clerk, data=data, filename=filename)
    assert "以下列出现了不止一次：setl_id" in str(error.value)
    assert not SettlementRecord.objects.exists()


def test_csv_with_blank_line_keeps_row_numbers(clinic, clerk):
    data = csv_bytes([row(clinic, 1)]) + b"\n" + csv_bytes([row(clinic, 2, insutype="1")]).split(b"\n", 1)[1]
    batch = settlements_import(source="upload", acting_user=clerk, data=data, filename="s.csv")
    assert (batch.accepted, batch.rejected) == (1, 1)
    assert list(reasons(batch)) == [4]


def test_gb18030_csv(clinic, clerk):
    data = csv_bytes([row(clinic, 1)]).decode("utf-8-sig").encode("gb18030")
    batch = settlements_import(source="upload", acting_user=clerk, data=data, filename="s.csv")
    assert batch.accepted == 1
    assert SettlementRecord.objects.get().psn_name == "测试患者"


def test_blanks_around_values_are_trimmed_alike_on_both_databases(clinic, clerk):
    """An ideographic space (what a Chinese input method types), a no-break space (what a
    spreadsheet leaves) or a tab at either end of a value is no part of it, whichever path reads
    the file; inside a value it stays."""
    padded = row(clinic, 1, setl_id="\u3000S0000001\xa0", psn_name="\u3000李\u3000四 ", atddr_no="D1\u2002")
    # the same settlement once trimmed: a repeat in the file, not a second settlement nor a conflict
    repeat = row(clinic, 1, setl_id="S0000001", psn_name="李\u3000四", atddr_no="D1")
    plain = row(clinic, 2, hifp_pay="\u300035.00", fixmedins_code=f"{clinic.code}\u3000")
    data = csv_bytes([padded, repeat, plain])
    first = settlements_import(source="upload", acting_user=clerk, data=data, filename="s.csv")
    assert (first.accepted, first.duplicates, first.rejected) == (2, 1, 0), reasons(first)
    record = SettlementRecord.objects.get(setl_id="S0000001")
    assert (record.psn_name, record.atddr_no) == ("李\u3000四", "D1")
    assert SettlementRecord.objects.get(setl_id=plain["setl_id"]).hifp_pay == Decimal("35.00")
    again = settlements_import(source="upload", acting_user=clerk, data=csv_bytes([repeat, plain]), filename="s.csv")
    assert (again.accepted, again.duplicates, again.rejected) == (0, 2, 0)


def test_an_import_that_deadlocks_with_another_starts_again_and_keeps_nothing_of_the_first_try(
    clinic, clerk, monkeypatch
):
    import psycopg
    from django.db import OperationalError

    from clinics.settlements.models import SettlementImport
    from clinics.settlements.services import imports as services

    real, calls = services._record_batch, []

    def deadlocks_once(*args):
        calls.append(1)
        batch = real(*args)  # everything written, then ended as PostgreSQL ends a deadlocked one
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected()
        return batch

    monkeypatch.setattr(services, "_record_batch", deadlocks_once)
    rows = (r for r in numbered([row(clinic, n) for n in range(1, 4)]))  # read once by the caller
    batch = settlements_import(source="api", acting_user=clerk, rows=rows)
    assert len(calls) == 2
    assert (batch.total_rows, batch.accepted) == (3, 3)
    assert SettlementRecord.objects.count() == 3
    assert SettlementImport.objects.count() == 1
