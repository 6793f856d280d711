"""Hostile input to the settlement log (issue 13): each attack on every path — the API, the admin
upload, the command, the service with CSV (the fast lane and the SQL engine on PostgreSQL, the
Python engine on SQLite) and XLSX. No request may answer 500."""

import datetime
import importlib
import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from openpyxl import load_workbook

from clinics.settlements import stats
from clinics.settlements.ingest import FastLane
from clinics.settlements.models import (
    AMOUNT_FIELDS,
    RejectedSettlementRow,
    SettlementImport,
    SettlementKey,
    SettlementMonthStat,
    SettlementRecord,
)
from clinics.settlements.partitions import ensure_partitions
from clinics.settlements.services import settlements_import
from core.validators import mask_id_number
from tests.conftest import api_as
from tests.factories import FacilityFactory
from tests.settlements.helpers import DAY, csv_bytes, numbered, row, xlsx_file
from tests.settlements.test_fastlane import FULL_WIDTH, Rollback, snapshot

pytestmark = pytest.mark.django_db
URL = "/api/v1/settlements/"
UPLOAD = "/admin/settlements/settlementimport/upload/"
CERTNO = "451028198506150012"
MASKED = "451028********0012"


def upload(kind: str, rows: list[dict], user):
    """The rows through one path; the batch."""
    if kind == "api rows":
        return settlements_import(source="api", acting_user=user, rows=numbered(rows))
    if kind == "csv":
        return settlements_import(source="upload", acting_user=user, data=csv_bytes(rows), filename="s.csv")
    return settlements_import(source="upload", acting_user=user, data=xlsx_file(rows), filename="s.xlsx")


PATHS = ["api rows", "csv", "xlsx"]


def batch_text(batch) -> str:
    """Everything a rejected row of the batch keeps, as one text."""
    return repr(list(RejectedSettlementRow.objects.filter(batch=batch).values_list("setl_id", "reason", "raw")))


# --- full ID numbers in rejected rows -------------------------------------------------------


@pytest.mark.parametrize("kind", PATHS)
def test_a_rejected_row_keeps_the_id_number_masked_like_the_log(clinic, clerk, kind):
    rows = [
        row(clinic, 1, medfee_sumamt="51.00"),  # total rule
        row(clinic, 2, setl_time="2026-02-30 09:00:00", certno="45102819850615001X"),
        row(clinic, 3, certno=CERTNO.translate(FULL_WIDTH), medfee_sumamt="-1.00"),  # full-width digits
        row(clinic, 4, certno="1234567", mdtrt_id=""),  # short: all stars, as the log does
        row(clinic, 5, certno=" " + CERTNO + "\u3000", hifp_pay="39.00"),
    ]
    batch = upload(kind, rows, clerk)
    assert batch.rejected == 5
    kept = dict(RejectedSettlementRow.objects.filter(batch=batch).values_list("row_number", "raw"))
    assert {n: raw.get("certno") for n, raw in kept.items()} == {
        2: MASKED, 3: "451028********001X", 4: MASKED, 5: "*******", 6: MASKED,
    }
    assert mask_id_number(CERTNO) == MASKED  # the log's own function
    assert CERTNO not in batch_text(batch) and "198506" not in batch_text(batch)


def test_the_rejected_rows_download_never_offers_a_full_number(clinic, clerk, client):
    batch = upload("csv", [row(clinic, 1, medfee_sumamt="51.00"), row(clinic, 2, fixmedins_code="451028999999")], clerk)
    client.force_login(clerk)
    response = client.get(f"/admin/settlements/settlementimport/{batch.pk}/rejected.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    cells = [str(v) for line in sheet.iter_rows(values_only=True) for v in line if v is not None]
    assert MASKED in cells and not any(CERTNO in c or "198506" in c for c in cells)
    page = client.get(f"/admin/settlements/rejectedsettlementrow/{batch.rejected_rows.first().pk}/change/")
    assert page.status_code == 200 and CERTNO.encode() not in page.content


def test_the_command_and_the_admin_upload_mask_it_too(clinic, clerk, client, tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(csv_bytes([row(clinic, 1, medfee_sumamt="51.00")]))
    call_command("import_settlements", str(path), stdout=io.StringIO())
    client.force_login(clerk)
    data = csv_bytes([row(clinic, 2, medfee_sumamt="51.00")])
    assert client.post(UPLOAD, {"file": SimpleUploadedFile("s.csv", data)}).status_code == 302
    raws = list(RejectedSettlementRow.objects.values_list("raw", flat=True))
    assert [r["certno"] for r in raws] == [MASKED, MASKED]


def test_the_migration_masks_rows_stored_before(clinic, clerk):
    batch = SettlementImport.objects.create(source="upload")
    stored = [
        RejectedSettlementRow.objects.create(batch=batch, row_number=2, reason="x", raw={"certno": CERTNO, "setl_id": "S1"}),
        RejectedSettlementRow.objects.create(batch=batch, row_number=3, reason="x", raw={"certno": MASKED}),
        RejectedSettlementRow.objects.create(batch=batch, row_number=4, reason="x", raw={"setl_id": "S4"}),
        RejectedSettlementRow.objects.create(batch=batch, row_number=5, reason="x", raw={"certno": "４５１０２８１９８５"}),
    ]
    migration = importlib.import_module("clinics.settlements.migrations.0012_mask_rejected_certno")
    for _ in range(2):  # masking a masked number changes nothing
        migration.mask_stored(apps, None)
        assert [RejectedSettlementRow.objects.get(pk=r.pk).raw for r in stored] == [
            {"certno": MASKED, "setl_id": "S1"}, {"certno": MASKED}, {"setl_id": "S4"}, {"certno": "451028********1985"},
        ]


# --- amount bounds ----------------------------------------------------------------------------

AT_BOUND = {"medfee_sumamt": "100000.00", "fund_pay_sumamt": "90000.00", "hifp_pay": "85000.00", "maf_pay": "5000.00",
            "acct_pay": "2000.00", "psn_cash_pay": "8000.00"}
CENT_ABOVE = {**AT_BOUND, "medfee_sumamt": "100000.01", "psn_cash_pay": "8000.01"}
FAR_ABOVE = dict.fromkeys(AMOUNT_FIELDS, "0.00") | {
    "medfee_sumamt": "9999999999.99", "fund_pay_sumamt": "9999999999.99", "hifp_pay": "9999999999.99"}


@pytest.mark.parametrize("kind", PATHS)
def test_an_amount_above_the_bound_is_rejected_naming_the_field_and_the_bound(clinic, clerk, kind):
    rows = [row(clinic, 1, **AT_BOUND), row(clinic, 2, **CENT_ABOVE), row(clinic, 3, **FAR_ABOVE),
            row(clinic, 4, acct_pay="100000.50", medfee_sumamt="100048.50")]
    batch = upload(kind, rows, clerk)
    assert (batch.accepted, batch.rejected) == (1, 3)
    reasons = dict(RejectedSettlementRow.objects.filter(batch=batch).values_list("row_number", "reason"))
    fields = {3: ("medfee_sumamt", "100000.01"), 4: ("medfee_sumamt", "9999999999.99"), 5: ("medfee_sumamt", "100048.50")}
    for number, (field, value) in fields.items():
        assert field in reasons[number] and value in reasons[number] and "100000.00" in reasons[number], reasons[number]
    assert SettlementRecord.objects.get().medfee_sumamt == Decimal("100000.00")


@pytest.mark.parametrize("kind", PATHS)
def test_the_bound_is_a_setting(clinic, clerk, kind, settings):
    settings.SETTLEMENT_MAX_AMOUNT = Decimal("45.00")
    batch = upload(kind, [row(clinic, 1), row(clinic, 2, medfee_sumamt="45.00", psn_cash_pay="3.00")], clerk)
    assert (batch.accepted, batch.rejected) == (1, 1)
    reason = RejectedSettlementRow.objects.get(batch=batch).reason
    assert "medfee_sumamt" in reason and "50.00" in reason and "45.00" in reason


def store_directly(clinic, n: int, amounts: dict, rows_in_rollup: int) -> None:
    """A settlement written to the log before the bound existed, and the clinic-month's rollup as
    if `rows_in_rollup` such rows had been stored (as `rebuild` would leave it)."""
    settled = timezone.make_aware(datetime.datetime.combine(DAY, datetime.time(8, n)))
    ensure_partitions([DAY.replace(day=1)])
    setl_id = f"OLD{clinic.pk}-{n}"
    SettlementKey.objects.create(setl_id=setl_id, settled_at=settled, fingerprint="old", facility_id=clinic.pk)
    SettlementRecord.objects.create(setl_id=setl_id, mdtrt_id="M", psn_no="P", psn_name="旧", insutype="390",
                                    clr_type="11", settled_at=settled, facility=clinic,
                                    **{k: Decimal(v) for k, v in amounts.items()})
    stats.rebuild(DAY)
    line = SettlementMonthStat.objects.get(facility=clinic, month=DAY.replace(day=1), insutype="390", clr_type="11")
    SettlementMonthStat.objects.filter(pk=line.pk).update(
        visits=rows_in_rollup, **{a: Decimal(amounts[a]) * rows_in_rollup for a in AMOUNT_FIELDS})


@pytest.mark.parametrize("kind", ["api", "csv", "xlsx"])
def test_rows_stored_before_the_bound_overflow_no_sum(clinic, other_clinic, clerk, kind, client):
    """Ten thousand settlements of 9,999,999,999.99 in one clinic-month (what the log accepted
    before the bound) are 99,999,999,999,900.00: one more settlement at the bound (100,000.00)
    passes 10^14 and overflowed the
    rollup's numeric(16,2), a 500 for the whole upload, the other clinic's row included; the
    summary answered 500 already."""
    store_directly(clinic, 1, FAR_ABOVE, 10_000)
    rows = [row(clinic, 1, **AT_BOUND), row(other_clinic, 2)]
    if kind == "api":
        response = api_as(clerk).post(URL, rows, format="json")
        assert response.status_code == 201, response.content
    else:
        client.force_login(clerk)
        data = csv_bytes(rows) if kind == "csv" else xlsx_file(rows)
        response = client.post(UPLOAD, {"file": SimpleUploadedFile(f"s.{kind}", data)})
        assert response.status_code == 302, response.content
    assert SettlementRecord.objects.filter(batch_id__isnull=False).count() == 2
    summary = api_as(clerk).get(f"{URL}summary/?month={DAY:%Y-%m}")
    assert summary.status_code == 200, summary.content
    totals = {line["fixmedins_code"]: line for line in summary.json()}
    assert totals[clinic.code]["medfee_sumamt"] == "100000000099900.00"  # 10,000 × 9,999,999,999.99 + 100,000.00
    assert totals[clinic.code]["visits"] == 10_001
    assert totals[other_clinic.code]["medfee_sumamt"] == "50.00"
    assert client.get(f"/admin/settlements/settlementrecord/summary/?month={DAY:%Y-%m}").status_code in (200, 302)


def test_the_rollup_holds_the_visits_counter_times_the_largest_stored_amount():
    field = SettlementMonthStat._meta.get_field("medfee_sumamt")
    largest = Decimal("9999999999.99") * (2**31 - 1)
    assert len(str(int(largest))) <= field.max_digits - field.decimal_places


# --- CR-only line endings ---------------------------------------------------------------------


@pytest.mark.parametrize("ending", [b"\r", b"mixed"])
def test_a_csv_with_bare_carriage_returns_is_read_row_by_row(clinic, clerk, client, ending):
    rows = [row(clinic, n) for n in range(1, 6)] + [row(clinic, 6, medfee_sumamt="51.00")]
    data = csv_bytes(rows)
    if ending == b"\r":
        data = data.replace(b"\r\n", b"\r")  # Excel's "CSV (Macintosh)"
    else:
        data = data.replace(b"\r\n", b"\n", 3).replace(b"\r\n", b"\r", 2)  # LF, then CR, then CR LF
    batch = settlements_import(source="upload", acting_user=clerk, data=data, filename="mac.csv")
    assert (batch.total_rows, batch.accepted, batch.rejected) == (6, 5, 1)
    assert list(RejectedSettlementRow.objects.values_list("row_number", flat=True)) == [7]
    assert stats.stored() == stats.recomputed()
    client.force_login(clerk)
    again = client.post(UPLOAD, {"file": SimpleUploadedFile("mac.csv", data)})
    assert again.status_code == 302
    assert SettlementImport.objects.order_by("-pk").first().duplicates == 5


@pytest.mark.postgres
def test_a_mac_csv_takes_the_fast_lane(clinic, clerk, monkeypatch):
    used = []
    real = FastLane._load
    monkeypatch.setattr(FastLane, "_load", lambda self, cursor, chunk: used.append(1) or real(self, cursor, chunk))
    data = csv_bytes([row(clinic, n) for n in range(1, 4)]).replace(b"\r\n", b"\r")
    batch = settlements_import(source="upload", acting_user=clerk, data=data, filename="mac.csv")
    assert batch.accepted == 3 and used


# --- upload limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["s.csv", "s.xlsx"])
def test_a_file_over_the_row_limit_is_refused_whole(clinic, clerk, client, settings, name, tmp_path):
    settings.UPLOAD_MAX_ROWS = 5
    rows = [row(clinic, n) for n in range(1, 7)]
    data = csv_bytes(rows) if name.endswith(".csv") else xlsx_file(rows)
    with pytest.raises(ValidationError) as refused:
        settlements_import(source="upload", acting_user=clerk, data=data, filename=name)
    assert "UPLOAD_MAX_ROWS" in str(refused.value)
    client.force_login(clerk)
    page = client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)})
    assert page.status_code == 200 and b"UPLOAD_MAX_ROWS" in page.content
    (tmp_path / name).write_bytes(data)
    with pytest.raises(CommandError, match="UPLOAD_MAX_ROWS"):
        call_command("import_settlements", str(tmp_path / name), stdout=io.StringIO())
    assert SettlementImport.objects.count() == SettlementRecord.objects.count() == SettlementKey.objects.count() == 0
    settings.UPLOAD_MAX_ROWS = 6
    assert settlements_import(source="upload", acting_user=clerk, data=data, filename=name).accepted == 6


def test_a_file_over_the_size_limit_is_refused_on_every_path(clinic, clerk, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    data = csv_bytes([row(clinic, n) for n in range(1, 20)])
    with pytest.raises(ValidationError, match="UPLOAD_MAX_BYTES"):
        settlements_import(source="upload", acting_user=clerk, data=data, filename="s.csv")
    response = api_as(clerk).post(URL, [row(clinic, n) for n in range(1, 20)], format="json")
    assert response.status_code == 400 and "UPLOAD_MAX_BYTES" in response.json()["detail"]
    assert SettlementRecord.objects.count() == 0


@pytest.mark.postgres
def test_the_row_limit_holds_on_the_fast_lane(clinic, clerk, settings, monkeypatch):
    settings.UPLOAD_MAX_ROWS = 5
    started, real = [], FastLane.__init__
    monkeypatch.setattr(FastLane, "__init__", lambda self, data: started.append(1) or real(self, data))
    with pytest.raises(ValidationError, match="UPLOAD_MAX_ROWS"):
        settlements_import(source="upload", acting_user=clerk, data=csv_bytes([row(clinic, n) for n in range(1, 7)]),
                           filename="s.csv")
    assert started == [] and SettlementRecord.objects.count() == 0


# --- codes written with full-width digits -----------------------------------------------------


@pytest.mark.parametrize("kind", PATHS)
def test_codes_in_full_width_digits_are_stored_in_ascii_and_are_the_same_settlement(clinic, clerk, kind):
    plain = row(clinic, 1)
    wide = {**plain, **{f: plain[f].translate(FULL_WIDTH) for f in
                        ("setl_id", "mdtrt_id", "psn_no", "certno", "insutype", "clr_type", "fixmedins_code", "atddr_no")}}
    assert wide["setl_id"] != plain["setl_id"] and not wide["fixmedins_code"].isascii()
    batch = upload(kind, [wide, plain, row(clinic, 2, setl_id=plain["setl_id"].translate(FULL_WIDTH), psn_no="P-other")],
                   clerk)
    assert (batch.accepted, batch.duplicates, batch.rejected) == (1, 1, 1)
    record = SettlementRecord.objects.get()
    assert (record.setl_id, record.mdtrt_id, record.psn_no, record.certno_masked, record.insutype, record.facility_id,
            record.atddr_no) == (plain["setl_id"], plain["mdtrt_id"], plain["psn_no"], MASKED, "390", clinic.pk,
                                 plain["atddr_no"])
    rejected = RejectedSettlementRow.objects.get(batch=batch)
    assert (rejected.row_number, rejected.setl_id) == (4, plain["setl_id"])
    again = upload(kind, [plain], clerk)
    assert (again.accepted, again.duplicates) == (0, 1)


def test_a_reversal_may_name_its_original_in_full_width_digits(clinic, clerk):
    original = row(clinic, 1)
    reversal = row(clinic, 2, init_setl_id=original["setl_id"].translate(FULL_WIDTH))
    batch = upload("csv", [original, reversal], clerk)
    assert (batch.accepted, batch.rejected) == (2, 0)
    assert SettlementRecord.objects.exclude(init_setl_id="").get().init_setl_id == original["setl_id"]


# --- the engines agree on hostile rows (PostgreSQL: the lane, the SQL engine) ---------------------


def hostile_file(clinic, other) -> bytes:
    rows = [row(clinic, n) for n in range(1, 6)]
    rows += [
        row(clinic, 10, **AT_BOUND),
        row(clinic, 11, **CENT_ABOVE),
        row(clinic, 12, **FAR_ABOVE),
        row(clinic, 13, hifp_pay="100001.00"),  # above the bound and the funds rule broken
        row(clinic, 14, medfee_sumamt="51.00"),
        row(clinic, 15, setl_id=row(clinic, 15)["setl_id"].translate(FULL_WIDTH)),
        row(clinic, 1, setl_id=row(clinic, 1)["setl_id"].translate(FULL_WIDTH)),  # row 2 again, full width
        row(clinic, 16, fixmedins_code=clinic.code.translate(FULL_WIDTH), atddr_no="Ｄ1"),
        row(other, 17, certno=CERTNO.translate(FULL_WIDTH)),
        row(other, 18, certno=CERTNO.translate(FULL_WIDTH), setl_time="2026-13-01 09:00:00"),
        row(other, 19, mdtrt_id="M１", medfee_sumamt="-5.00"),
    ]
    return csv_bytes(rows)


@pytest.mark.postgres
def test_the_lane_and_the_sql_engine_agree_on_hostile_rows(clerk, monkeypatch):
    clinic, other = FacilityFactory(), FacilityFactory()
    data = hostile_file(clinic, other)
    monkeypatch.setattr(FastLane, "first_chunk", 2)
    monkeypatch.setattr(FastLane, "chunk", 3)
    with pytest.raises(Rollback), transaction.atomic():
        fast = snapshot(settlements_import(source="upload", acting_user=clerk, data=data, filename="h.csv"))
        raise Rollback
    monkeypatch.setattr(FastLane, "run", lambda self, *args: None)
    whole = snapshot(settlements_import(source="upload", acting_user=clerk, data=data, filename="h.csv"))
    assert fast == whole
    assert fast["counts"] == (16, 9, 1, 6)
    assert CERTNO not in repr(fast["rejected"])


def test_the_python_engine_gives_the_same_counts_on_hostile_rows(clerk):
    clinic, other = FacilityFactory(), FacilityFactory()
    batch = settlements_import(source="upload", acting_user=clerk, data=hostile_file(clinic, other), filename="h.csv")
    assert (batch.total_rows, batch.accepted, batch.duplicates, batch.rejected) == (16, 9, 1, 6)
    assert connection.vendor in ("sqlite", "postgresql")


# --- no request answers 500 -------------------------------------------------------------------


def test_hostile_bodies_through_the_api_answer_without_a_500(clinic, clerk):
    client = api_as(clerk)
    bodies = [
        [row(clinic, 1, **FAR_ABOVE)],
        [row(clinic, 2, medfee_sumamt="1e400")],
        [row(clinic, 3, medfee_sumamt=10**30, fund_pay_sumamt=1e308)],
        [row(clinic, 4, setl_id="Ｓ\r\n1", certno=CERTNO + "\r" + CERTNO)],
        [row(clinic, 5, fixmedins_code=clinic.code.translate(FULL_WIDTH) + "\u0000")],
        [row(clinic, 6, certno={"nested": CERTNO}, atddr_no=["D1"])],
        [{"setl_id": "①②③", "certno": CERTNO}],
    ]
    for body in bodies:
        response = client.post(URL, body, format="json")
        assert response.status_code in (201, 400), (body, response.status_code, response.content)
    assert CERTNO not in repr(list(RejectedSettlementRow.objects.values_list("raw", flat=True)))


@pytest.mark.parametrize(
    "data",
    [
        b"setl_id,mdtrt_id\r",
        b"\r\r\r",
        b"\xef\xbb\xbf" + b"\r".join([b",".join(b"x" for _ in range(17))] * 3),
        "setl_id\u3000,mdtrt_id\n１,２\n".encode(),
        b"\x00" * 100,
    ],
)
def test_hostile_files_through_the_admin_upload_answer_without_a_500(clerk, client, data):
    client.force_login(clerk)
    for name in ("s.csv", "s.xlsx"):
        assert client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)}).status_code in (200, 302)


def _row_too_long_to_read(header: bytes) -> bytes:
    """A CSV whose second data row holds a cell beyond the csv module's field limit: the header
    reads, the row does not (it raised while the rows were iterated, past the callers' guard)."""
    return header + b"\r\n" + b"a," * 6 + b"\r\n" + b'"' + b"x" * 200_000 + b'",1\r\n'


def test_a_settlement_row_that_cannot_be_read_refuses_the_upload_on_every_engine(clinic, clerk):
    header = ",".join(row(clinic, 1)).encode()
    before = SettlementRecord.objects.count()
    with pytest.raises(ValidationError) as refused:
        settlements_import(source="upload", acting_user=clerk, data=_row_too_long_to_read(header), filename="s.csv")
    assert refused.value.code == "unreadable_file"
    assert SettlementRecord.objects.count() == before and not SettlementImport.objects.exists()


def test_an_api_body_over_the_memory_limit_is_a_json_refusal(clinic, clerk, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    response = api_as(clerk).post(URL, [row(clinic, n) for n in range(1, 40)], format="json")
    assert response.status_code == 400
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["detail"]
    assert not SettlementRecord.objects.exists()
