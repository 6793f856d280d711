"""The fast lane of a CSV upload on PostgreSQL (`clinics.settlements.fastlane`).

Its one duty: never accept a row the rules refuse, and store exactly what the other paths store.
Held against the Python engine row by row (both databases: the lane itself is plain Python), and
on PostgreSQL against the whole-file path it replaces: the same file, each way, must leave the
same counts, rejected rows, log, keys and rollup."""

import array
import datetime
import json
import re
import sys
from decimal import Decimal, InvalidOperation

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinics.settlements import fastlane, stats
from clinics.settlements.ingest import (
    FastLane,
    IngestContext,
    LaneFailedError,
    PythonEngine,
    clean_values,
    fast_lane_request,
)
from clinics.settlements.ingest.python_engine import _Row
from clinics.settlements.models import (
    RejectedSettlementRow,
    SettlementKey,
    SettlementMonthStat,
    SettlementRecord,
)
from clinics.settlements.rules import CODE_FIELDS, FIELDS, MAX_LENGTH
from clinics.settlements.rules import messages as rule_messages
from clinics.settlements.services import raw_csv, settlements_import
from core.tabular import csv_text
from core.validators import mask_id_number
from tests.factories import FacilityFactory
from tests.settlements.helpers import csv_bytes, numbered, row, upload_at_once

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(datetime.datetime(2026, 11, 20, 12, 0))


class Rollback(Exception):
    pass


def lane_request(data: bytes, own=None) -> dict:
    request = fast_lane_request(IngestContext(batch_id=7, own_facility=own, now=NOW), raw_csv(data), 2, 5)
    return json.loads(json.dumps(request))  # as the child reads it


def lane_output(data: bytes, own=None) -> tuple[dict[int, tuple[list[str], str]], list[int]]:
    """{row number: (log columns, fingerprint)} of the rows the lane takes, and the others."""
    raw = raw_csv(data)
    messages = []
    fastlane.classify(lane_request(data, own), raw.body, messages.append)
    taken = {}
    for kind, *payload in messages:
        if kind == "chunk":
            chunk = payload[0]
            numbers = list(array.array("q", chunk["rows"]))
            logs = chunk["logs"].decode().splitlines()
            keys = chunk["keys"].decode().splitlines()
            for number, log, key in zip(numbers, logs, keys, strict=True):
                taken[number] = (log.split(","), key.split("\t")[2])  # the log chunk is CSV, the keys TAB
    assert messages[-1][0] == "end"
    return taken, messages[-1][1]


# --- row by row against the Python engine (both databases) ----------------------------------

FULL_WIDTH = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ")
# Whole sets of the six amounts (medfee, fund, hifp, maf, acct, cash), keeping both amount rules or
# not, around the upper bound (SETTLEMENT_MAX_AMOUNT, 100000.00 in the tests).
AMOUNT_SETS = {
    "at the bound": ("100000.00", "90000.00", "85000.00", "5000.00", "2000.00", "8000.00"),
    "a cent above": ("100000.01", "90000.00", "85000.00", "5000.00", "2000.00", "8000.01"),
    "far above": ("9999999999.99", "9999999999.99", "9999999999.99", "0.00", "0.00", "0.00"),
    "cash above, total rule broken": ("50.00", "40.00", "35.00", "5.00", "2.00", "100000.01"),
    "hifp above, funds rule broken": ("50.00", "40.00", "100001.00", "5.00", "2.00", "8.00"),
    "just below, seven digits": ("99999.99", "99999.99", "99999.99", "0.00", "0.00", "0.00"),
}
AMOUNTS = ["medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "maf_pay", "acct_pay", "psn_cash_pay"]

VARIANTS = {
    "setl_id": ["S1", " S1", "S1 ", "", "S" * 30, "S" * 31, "S\\1", "S\t1", "S,1", "患者1", "S1\u3000", "\xa0S1",
                "S1\x1f", "S\u30001", "S１", "Ｓ1"],
    "mdtrt_id": ["M00000001", "Ｍ00000001", "M０1"],
    "psn_no": ["P00000001", "P００1", " P1"],
    "psn_name": ["测试患者", "张 三", " 李四", "", "名" * 16, "名" * 17, "a\"b", "O'Neil", "\u3000李四", "李四\u2002",
                 "李\u3000四"],
    "certno": ["", "451028198506150012", "12345", "45102819850615001X", "４５", "1234567890123456789",
               "451028198506150012".translate(FULL_WIDTH), "45102819850615001Ｘ"],
    "insutype": ["390", "310", "391", " 390", "", "３９０"],
    "clr_type": ["11", "14", "12", "１４"],
    "medfee_sumamt": ["50.00", "50", "50.0", "050.00", "-50.00", "5e1", "50.001", "５0.00", "", "50.01", "100000.00",
                      "100000.01", "1000000.00"],
    "hifp_pay": ["35.00", "36.00", "35", "0.00", "100000.01", "200000.00"],
    "amounts": ["as they are", *AMOUNT_SETS],
    "setl_time": ["2026-10-12 09:30:00", "2026-10-12T09:30:00", "2026-10-12 09:30", "2026-02-29 09:30:00",
                  "2024-02-29 09:30:00", "2026-11-30 09:00:00", "2026-10-12 24:00:00", "1999-12-31 23:59:59",
                  "2026-10-31 23:59:59", "2026-10-12 9:30:00", "２026-10-12 09:30:00"],
    "fixmedins_code": ["own", "disabled", "unknown", "own in full-width digits"],
    "atddr_no": ["", "D00000001", " D1", "D1\u3000", "\u3000", "Ｄ1", "D００1"],
    "init_setl_id": ["", "S0"],
}


@pytest.fixture
def clinics(db):
    return {"own": FacilityFactory(), "disabled": FacilityFactory(settlement_enabled=False)}


# A documented, valid row with one or two fields changed to one of their variants.
CHANGES = st.lists(
    st.sampled_from([(name, value) for name, options in VARIANTS.items() for value in options]), min_size=1, max_size=2
)
VALID = {name: options[0] for name, options in VARIANTS.items()}


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(CHANGES)
def test_the_lane_takes_only_rows_the_python_engine_accepts_and_stores_the_same(clinics, changes):
    choice = {**VALID, **dict(changes)}
    codes = {"own": clinics["own"].code, "disabled": clinics["disabled"].code, "unknown": "451028999999",
             "own in full-width digits": clinics["own"].code.translate(FULL_WIDTH)}
    values = row(clinics["own"], 1, **{k: v for k, v in choice.items() if k not in ("fixmedins_code", "amounts")})
    values["fixmedins_code"] = codes[choice["fixmedins_code"]]
    if choice["amounts"] in AMOUNT_SETS:
        values.update(zip(AMOUNTS, AMOUNT_SETS[choice["amounts"]], strict=True))
    data = csv_bytes([values])
    taken, slow = lane_output(data)
    assert sorted([*taken, *slow]) == [2], "every line is taken or handed on, once"

    engine = PythonEngine(IngestContext(batch_id=7, now=NOW), rule_messages())
    checked = _Row(2, clean_values(values))
    reason = engine.check(checked)
    if 2 not in taken:
        if not reason and documented_form(values):
            pytest.fail(f"a valid row in the documented form was not taken: {values}")
        return
    # The two amount rules are the log's CHECK constraints: the database refuses those rows (and a
    # row that keeps them has no amount above medfee_sumamt, the one the lane holds to the bound).
    if reason:
        assert breaks_an_amount_rule(checked.text), f"the lane took a row the rules refuse: {reason}"
        return
    log, fp = taken[2]
    assert fp == engine._fingerprint(checked)
    t = checked.text
    assert log[:7] == [t["setl_id"], t["mdtrt_id"], t["psn_no"], t["psn_name"], log[4], t["insutype"], t["clr_type"]]
    assert log[4] == mask_id_number(t["certno"])
    assert [Decimal(v) for v in log[7:13]] == [checked.amounts[a] for a in
                                             ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "maf_pay", "acct_pay", "psn_cash_pay")]
    assert datetime.datetime.fromisoformat(log[13]) == checked.settled_at
    assert int(log[14]) == checked.facility_id
    assert log[15:17] == [t["atddr_no"], ""]


def breaks_an_amount_rule(text: dict) -> bool:
    """Whether the log's CHECKs refuse the row's amounts (funds cover hifp + maf; the total adds up)."""
    try:
        medfee, fund, hifp, maf, acct, cash = (Decimal(text[a]) for a in AMOUNTS)
    except InvalidOperation:
        return False
    return fund < hifp + maf or medfee != fund + acct + cash


def documented_form(values: dict) -> bool:
    """Written exactly as the documentation shows: the form the lane must take when it is valid
    (codes in ASCII: one written with an input method's full-width digits goes to the SQL engine,
    which writes it in ASCII)."""
    plain = all(v == v.strip() and not set(v) & set(',"\t\\') for v in values.values())
    plain = plain and all(values.get(name, "").isascii() for name in CODE_FIELDS)
    return (
        plain
        and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", values["setl_time"]) is not None
        and all(re.fullmatch(r"(0|[1-9][0-9]*)\.[0-9]{2}", values[a]) for a in AMOUNTS)
        and re.fullmatch(r"[0-9A-Za-z]*", values["certno"]) is not None
        and all(len(values.get(f, "").encode()) <= n for f, n in MAX_LENGTH.items())
        and values["init_setl_id"] == ""
    )


def test_a_terminal_takes_only_its_own_clinic(clinics):
    other = FacilityFactory()
    data = csv_bytes([row(clinics["own"], 1), row(other, 2)])
    taken, slow = lane_output(data, own=clinics["own"])
    assert list(taken) == [2] and slow == [3]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"S1,\"two\nlines\"\n", "a quoted field spans lines"),
        (b"S1,a\rS2,b\n", "a bare carriage return"),
    ],
)
def test_files_whose_lines_are_not_rows_are_left_to_the_whole_file_path(clinics, body, why):
    messages = []
    fastlane.classify(lane_request(csv_bytes([])), body, messages.append)
    assert messages == [("ineligible", why)]


ORDERS = {
    "documented": FIELDS,
    # every column in another order, with a column the rules do not know (ignored)
    "shuffled": ["remark", "fixmedins_code", "setl_time", *reversed(FIELDS[:13]), "init_setl_id", "atddr_no"],
    # the optional atddr_no and init_setl_id absent
    "short": [f for f in FIELDS if f not in ("atddr_no", "init_setl_id")],
}


def in_order(rows: list[dict], header: list[str]) -> bytes:
    """A CSV upload of `rows` with the columns of `header`."""

    return csv_text(header, [[r.get(name, "" if name in FIELDS else "备注") for name in header] for r in rows]).encode()


@pytest.mark.parametrize("order", ["shuffled", "short"])
def test_another_column_order_takes_the_lane_and_stores_the_same(clinics, order):
    rows = [row(clinics["own"], n, certno="" if n % 2 else "451028198506150012", atddr_no="")
            for n in range(1, 6)]
    rows.append(row(clinics["own"], 6, psn_name="Zhang, San"))  # quoted: to the SQL engine
    documented, _ = lane_output(csv_bytes(rows))
    taken, slow = lane_output(in_order(rows, ORDERS[order]))
    assert taken == documented and len(taken) == 5
    assert slow == [7]


def test_a_line_with_other_values_than_the_header_names_is_left_to_the_sql_engine(clinics):
    header = ORDERS["shuffled"]
    data = in_order([row(clinics["own"], 1), row(clinics["own"], 2)], header)
    lines = data.split(b"\r\n")
    lines[2] += b",extra"
    taken, slow = lane_output(b"\r\n".join(lines))
    assert list(taken) == [2] and slow == [3]


# --- the whole upload against the whole-file path (PostgreSQL) -------------------------------


def snapshot(batch) -> dict:
    def rows(queryset, *fields):
        return sorted(queryset.values_list(*fields))

    record_fields = [f.name for f in SettlementRecord._meta.fields if f.name not in ("id", "batch_id", "recorded_at")]
    return {
        "counts": (batch.total_rows, batch.accepted, batch.duplicates, batch.rejected),
        "rejected": rows(RejectedSettlementRow.objects.filter(batch=batch), "row_number", "setl_id", "reason", "raw"),
        "log": rows(SettlementRecord.objects.all(), *record_fields),
        "keys": rows(SettlementKey.objects.all(), "setl_id", "settled_at", "fingerprint", "init_setl_id", "facility_id"),
        "rollup": rows(SettlementMonthStat.objects.all(), "facility_id", "month", "insutype", "clr_type", "visits",
                       "reversals", "medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "maf_pay", "acct_pay", "psn_cash_pay"),
    }


def mixed_file(clinic, other, disabled, header=FIELDS) -> bytes:
    good = [row(clinic, n, certno="" if n % 3 else "451028198506150012") for n in range(1, 12)]
    good += [row(other, n, clr_type="14", setl_time=f"2026-09-{n:02d} 08:00:00") for n in range(20, 26)]
    odd = [
        row(clinic, 30, medfee_sumamt="50", hifp_pay="35.0"),  # valid, not canonical
        row(clinic, 31, psn_name=" 张三 "),  # valid after trimming
        row(clinic, 32, psn_name="Zhang, San"),  # quoted by the CSV writer
        row(clinic, 33, medfee_sumamt="51.00"),  # total rule, canonical form: the log's CHECK
        row(clinic, 34, hifp_pay="39.00"),  # funds rule
        row(clinic, 35, setl_time="2026-02-30 09:00:00"),
        row(clinic, 36, setl_time="2027-01-01 09:00:00"),
        row(clinic, 37, fixmedins_code="451028999999"),
        row(disabled, 38),
        row(clinic, 2, init_setl_id=row(clinic, 1)["setl_id"], setl_id="R0000001"),  # a reversal
        row(clinic, 5, certno=""),  # repeats row 5: the same content, a duplicate
        row(clinic, 6, psn_no="P-other"),  # repeats row 6 with other content
        row(clinic, 39, mdtrt_id=""),
        row(clinic, 90),  # recorded before, same content
        row(clinic, 91, psn_name="改过的名字"),  # recorded before with other content
        row(clinic, 40, medfee_sumamt="50.00", acct_pay="3.00"),  # total rule again, another chunk
    ]
    lines = in_order(good[:8] + odd[:5] + good[8:] + odd[5:], header).split(b"\r\n")
    lines.insert(6, b"")  # a blank line: no row, the numbering goes on
    return b"\r\n".join(lines)


@pytest.mark.postgres
@pytest.mark.parametrize("order", ["documented", "shuffled"])
def test_the_lane_and_the_whole_file_path_leave_the_same_outcome(clerk, monkeypatch, order):
    clinic, other, disabled = FacilityFactory(), FacilityFactory(), FacilityFactory(settlement_enabled=False)
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 90), row(clinic, 91)]))
    data = mixed_file(clinic, other, disabled, ORDERS[order])
    monkeypatch.setattr(FastLane, "first_chunk", 2)
    monkeypatch.setattr(FastLane, "chunk", 4)
    used = []
    real_run = FastLane.run
    monkeypatch.setattr(FastLane, "run", lambda self, *args: used.append(1) or real_run(self, *args))

    with pytest.raises(Rollback), transaction.atomic():
        fast = snapshot(settlements_import(source="upload", acting_user=clerk, data=data, filename="m.csv"))
        raise Rollback
    assert used == [1]
    monkeypatch.setattr(FastLane, "run", lambda self, *args: None)
    whole = snapshot(settlements_import(source="upload", acting_user=clerk, data=data, filename="m.csv"))

    # 33 rows: 21 accepted (17 in the documented form, 3 valid otherwise, 1 reversal), 2 duplicates
    # (a repeat with the same content, a row recorded before), 10 rejected.
    assert fast["counts"] == whole["counts"] == (33, 21, 2, 10)
    for part in ("rejected", "log", "keys", "rollup"):
        assert fast[part] == whole[part], part
    assert len({number for number, *_ in fast["rejected"]}) == 10


def spy_on_copies(monkeypatch) -> list[int]:
    """The number of rows each successful COPY of the lane carried."""
    copies = []
    real = FastLane._copy

    def copy(cursor, target, keys, logs):
        error = real(cursor, target, keys, logs)
        if error is None:
            copies.append(keys.count(b"\n"))
        return error

    monkeypatch.setattr(FastLane, "_copy", staticmethod(copy))
    return copies


@pytest.mark.postgres
def test_a_clean_file_is_copied_in_chunks_and_a_resend_changes_nothing(clinic, clerk, monkeypatch):
    monkeypatch.setattr(FastLane, "first_chunk", 3)
    monkeypatch.setattr(FastLane, "chunk", 10)
    data = csv_bytes([row(clinic, n) for n in range(1, 41)])
    copies = spy_on_copies(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        first = settlements_import(source="upload", acting_user=clerk, data=data, filename="a.csv")
    assert (first.accepted, first.duplicates, first.rejected) == (40, 0, 0)
    assert copies == [3, 4, 6, 9, 10, 8], "rows COPYed a chunk"
    assert not any("settlement_stage" in q["sql"] for q in queries.captured_queries), "no staging table, no SQL pass"
    before = snapshot(first)
    again = settlements_import(source="upload", acting_user=clerk, data=data, filename="a.csv")
    after = snapshot(again)
    assert after.pop("counts") == (40, 0, 40, 0)
    before.pop("counts")
    assert after == before
    assert stats.stored() == stats.recomputed()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_files_land_each_settlement_once(clerk, monkeypatch):
    clinic = FacilityFactory()
    monkeypatch.setattr(FastLane, "first_chunk", 5)
    monkeypatch.setattr(FastLane, "chunk", 40)
    files = [
        csv_bytes([row(clinic, n) for n in range(1, 301)]),
        csv_bytes([row(clinic, n) for n in range(151, 451)]),
        csv_bytes([row(clinic, n) for n in range(450, 0, -1)]),
    ]
    batches = upload_at_once(files, clerk)
    assert SettlementRecord.objects.count() == SettlementKey.objects.count() == 450
    assert sum(b.accepted for b in batches) == 450
    assert sum(b.duplicates for b in batches) == 300 + 300 + 450 - 450
    assert sum(b.rejected for b in batches) == 0
    line = SettlementMonthStat.objects.get(facility=clinic, insutype="390", clr_type="11")
    assert (line.visits, line.medfee_sumamt) == (450, Decimal("22500.00"))
    assert stats.stored() == stats.recomputed()


@pytest.mark.postgres
def test_a_gb18030_file_takes_the_lane(clinic, clerk, monkeypatch):
    data = csv_bytes([row(clinic, n) for n in range(1, 5)]).decode("utf-8-sig").encode("gb18030")
    copies = spy_on_copies(monkeypatch)
    batch = settlements_import(source="upload", acting_user=clerk, data=data, filename="gbk.csv")
    assert batch.accepted == 4
    assert copies == [4]
    assert set(SettlementRecord.objects.values_list("psn_name", flat=True)) == {"测试患者"}


@pytest.mark.postgres
@pytest.mark.parametrize("failure", ["no child", "stops half way"])
def test_when_the_lane_fails_the_file_is_read_the_slow_way_and_nothing_is_lost(clinic, clerk, monkeypatch, failure):
    monkeypatch.setattr(FastLane, "first_chunk", 3)
    monkeypatch.setattr(FastLane, "chunk", 5)
    if failure == "no child":
        monkeypatch.setattr(FastLane, "command", [sys.executable, "-c", "import sys; sys.exit(3)"])
    else:
        real_load, calls = FastLane._load, []

        def load(self, cursor, chunk):
            calls.append(1)
            if len(calls) == 3:
                raise LaneFailedError("the child stopped")
            real_load(self, cursor, chunk)

        monkeypatch.setattr(FastLane, "_load", load)
    rows = [row(clinic, n) for n in range(1, 21)] + [row(clinic, 21, medfee_sumamt="1.00")]
    batch = settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="f.csv")
    assert (batch.total_rows, batch.accepted, batch.duplicates, batch.rejected) == (21, 20, 0, 1)
    assert SettlementRecord.objects.count() == SettlementKey.objects.count() == 20
    assert list(RejectedSettlementRow.objects.values_list("row_number", flat=True)) == [22]
    assert stats.stored() == stats.recomputed()


def test_a_big_file_gets_bigger_chunks_not_more_savepoints(clinics):
    data = csv_bytes([row(clinics["own"], n) for n in range(1, 1001)])
    request = {**lane_request(data), "first_chunk": 1, "chunk": 1}
    messages = []
    fastlane.classify(request, raw_csv(data).body, messages.append)
    chunks = [m for m in messages if m[0] == "chunk"]
    assert len(chunks) <= fastlane.MAX_CHUNKS + 12  # and the first ones, growing by half
    assert sum(len(array.array("q", c[1]["rows"])) for c in chunks) == 1000


def test_blanks_are_what_python_strips():
    assert fastlane.BLANKS == "".join(c for c in map(chr, range(0x110000)) if c.isspace())
