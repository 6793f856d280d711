"""The settlement log in the platform's own terms (issue 15), end to end on whichever engine the
database runs: on SQLite the Python engine; on PostgreSQL the SQL engine (API rows) and the CSV
fast lane (files), so CI's two passes hold all three to the same answers.

- a full 2207 `setlinfo` answer with a hospital share is accepted as the API's JSON (numbers as
  JSON numbers, as the platform returns them), as a CSV with the Chinese headers a HIS exports and
  as an XLSX, and each stores the same 41 fields;
- a 2208 reversal (amounts negative as 2208 answers them, or positive) is stored positive, linked
  to its original, and nets the month out;
- codes outside a dictionary are refused naming the dictionary; an amount relation the county
  has not confirmed warns on the import report instead of refusing;
- an old HIS file without the 2207 columns still lands, its new fields empty, not invented."""

import datetime
from decimal import Decimal

import pytest
from django.test import override_settings

from clinics.models import Role
from clinics.settlements import stats
from clinics.settlements.models import RejectedSettlementRow, SettlementImportWarning, SettlementRecord
from clinics.settlements.services import reconciliation, settlements_import
from clinics.settlements.spec import BASE_FIELDS, FIELDS, PLATFORM_FIELDS, REVERSAL_SETLINFO, SETLINFO
from core.tabular import csv_text, xlsx_bytes
from tests.conftest import api_as
from tests.factories import make_user
from tests.settlements.helpers import numbered

pytestmark = pytest.mark.django_db
OCT = datetime.date(2026, 10, 1)
URL = "/api/v1/settlements/"


@pytest.fixture
def clinic(clinic):
    """The tests' clinic with its platform institution code (H + 11 digits), as the seeds give one."""
    clinic.platform_code = f"H451028{clinic.pk:05d}"
    clinic.save(update_fields=["platform_code"])
    return clinic


def setlinfo(clinic, n: int = 1, **overrides) -> dict:
    """A 2207 answer for a chronic-disease outpatient visit at a village clinic: 128.40 total =
    96.30 funds (pooled 80.30 + critical illness 6.00 + assistance 10.00) + 27.10 personal share
    (account 5.00 + cash 22.10) + 5.00 borne by the clinic."""
    values = {
        "mdtrt_id": f"4510282026100{n:05d}",
        "setl_id": f"4510282026101{n:05d}",
        "psn_no": f"45000000000000{n:04d}",
        "psn_name": "黄秀英",
        "psn_cert_type": "01",
        "certno": "451028195803150027",
        "gend": "2",
        "naty": "08",
        "brdy": "1958-03-15",
        "age": 68.0,
        "insutype": "390",
        "psn_type": "16",
        "cvlserv_flag": "0",
        "setl_time": f"2026-10-14 10:{n % 60:02d}:31",
        "mdtrt_cert_type": "02",
        "med_type": "14",
        "medfee_sumamt": 128.40,
        "fulamt_ownpay_amt": 3.20,
        "overlmt_selfpay": 0,
        "preselfpay_amt": 0,
        "inscp_scp_amt": 125.20,
        "act_pay_dedc": 0,
        "hifp_pay": 80.30,
        "pool_prop_selfpay": 0.7,
        "cvlserv_pay": 0,
        "hifes_pay": 0,
        "hifmi_pay": 6.00,
        "hifob_pay": 0,
        "maf_pay": 10.00,
        "oth_pay": 0,
        "fund_pay_sumamt": 96.30,
        "psn_part_amt": 27.10,
        "acct_pay": 5.00,
        "psn_cash_pay": 22.10,
        "hosp_part_amt": 5.00,
        "balc": 312.45,
        "acct_mulaid_pay": 0,
        "medins_setl_id": f"HIS20261014{n:04d}",
        "clr_optins": "451028",
        "clr_way": "01",
        "clr_type": "11",
        "fixmedins_code": clinic.platform_code,
        "atddr_no": "",
        "init_setl_id": "",
    }
    values.update(overrides)
    return values


def as_text(values: dict) -> dict:
    return {k: ("" if v is None else str(v)) for k, v in values.items()}


def his_csv(rows: list[dict]) -> bytes:
    """A HIS export: the platform's Chinese field names as headers, GB18030 as Windows writes it."""
    labels = {name: label for name, label, _ in SETLINFO} | {"fixmedins_code": "定点医药机构编号", "atddr_no": "医保医师代码",
                                                             "init_setl_id": "原结算ID"}
    header = [labels[f] for f in FIELDS]
    text = csv_text(header, [[as_text(r)[f] for f in FIELDS] for r in rows])
    return text.removeprefix("\ufeff").encode("gb18030")  # no byte-order mark in a GB18030 file


STORED = [f for f in PLATFORM_FIELDS + BASE_FIELDS if f not in ("certno", "setl_time", "fixmedins_code")]


def stored(setl_id: str) -> dict:
    return SettlementRecord.objects.filter(setl_id=setl_id).values(*STORED, "certno_masked", "settled_at", "facility_id").get()


def test_a_2207_answer_with_a_hospital_share_lands_the_same_from_json_csv_and_xlsx(clinic, clerk):
    assert clinic.platform_code.startswith("H") and len(clinic.platform_code) == 12
    by_api = api_as(clerk).post(URL, [setlinfo(clinic, 1)], format="json")
    assert by_api.status_code == 201, by_api.content
    assert (by_api.json()["accepted"], by_api.json()["rejected"], by_api.json()["warned"]) == (1, 0, 0)
    by_csv = settlements_import(source="upload", acting_user=clerk, data=his_csv([setlinfo(clinic, 2)]), filename="his.csv")
    xlsx = xlsx_bytes(FIELDS, [[as_text(setlinfo(clinic, 3))[f] for f in FIELDS]])
    by_xlsx = settlements_import(source="upload", acting_user=clerk, data=xlsx, filename="his.xlsx")
    assert [(b.accepted, b.rejected, b.warned) for b in (by_csv, by_xlsx)] == [(1, 0, 0), (1, 0, 0)]

    first = stored(setlinfo(clinic, 1)["setl_id"])
    assert first["hosp_part_amt"] == Decimal("5.00") and first["medfee_sumamt"] == Decimal("128.40")
    assert first["med_type"] == "14" and first["clr_type"] == "11" and first["clr_optins"] == "451028"
    assert first["brdy"] == datetime.date(1958, 3, 15) and first["age"] == Decimal("68.0")
    assert first["pool_prop_selfpay"] == Decimal("0.7000") and first["balc"] == Decimal("312.45")
    assert first["certno_masked"] == "451028********0027" and first["facility_id"] == clinic.pk
    # Every engine stores the same answer (the ids and times differ by construction).
    different = {"setl_id", "mdtrt_id", "psn_no", "medins_setl_id", "settled_at"}
    for n in (2, 3):
        other = stored(setlinfo(clinic, n)["setl_id"])
        assert {k: v for k, v in other.items() if k not in different} == {k: v for k, v in first.items() if k not in different}


@pytest.mark.parametrize("sign", [-1, 1], ids=["negative-as-2208", "positive"])
def test_a_2208_reversal_is_stored_positive_linked_and_nets_the_month_out(clinic, clerk, sign):
    original = setlinfo(clinic, 1)
    amounts = {k: v for k, v in original.items() if isinstance(v, float | int) and k not in ("age", "pool_prop_selfpay", "balc")}
    reversal = setlinfo(clinic, 2, init_setl_id=original["setl_id"], mdtrt_id=original["mdtrt_id"],
                        setl_time="2026-10-14 16:05:00", **{k: sign * v for k, v in amounts.items()})
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([original, reversal]))
    assert (batch.accepted, batch.rejected) == (2, 0), list(RejectedSettlementRow.objects.values_list("reason", flat=True))

    kept = stored(reversal["setl_id"])
    assert kept["init_setl_id"] == original["setl_id"]
    assert kept["medfee_sumamt"] == Decimal("128.40") and kept["hosp_part_amt"] == Decimal("5.00")
    assert kept["hifmi_pay"] == Decimal("6.00") and kept["balc"] == Decimal("312.45")  # a balance keeps its sign
    line = stats.stored(OCT)[(clinic.pk, OCT, "390", "11")]
    assert line[:3] == (0, 1, Decimal("0.00"))  # one visit, one reversal, nothing paid
    assert stats.stored(OCT) == stats.recomputed(OCT)


def answer_2208(original: dict, n: int, sign: int = -1) -> dict:
    """A 2208 answer's setlinfo as the platform returns it (its 26 fields, spec.REVERSAL_SETLINFO:
    no person, insurance type, clearing category or clinic), amounts negative, plus the setl_id it
    cancels (init_setl_id, the 2208 input's setl_id)."""
    amounts = {k for k, v in original.items() if isinstance(v, float | int) and k not in ("age", "pool_prop_selfpay", "balc")}
    answer = {k: (sign * original[k] if k in amounts else original[k]) for k in REVERSAL_SETLINFO}
    answer |= {"setl_id": f"4510282026102{n:05d}", "setl_time": "2026-10-15 08:40:12", "medins_setl_id": f"HIS20261015{n:04d}"}
    return answer | {"init_setl_id": original["setl_id"]}


def test_a_2208_answer_as_the_platform_returns_it_takes_the_rest_from_its_original(clinic, clerk):
    original = setlinfo(clinic, 1)
    assert api_as(clerk).post(URL, [original], format="json").json()["accepted"] == 1
    answer = answer_2208(original, 1)
    assert "psn_no" not in answer and "insutype" not in answer and "fixmedins_code" not in answer
    reply = api_as(clerk).post(URL, [answer], format="json")
    assert reply.status_code == 201 and (reply.json()["accepted"], reply.json()["rejected"]) == (1, 0), reply.content
    kept, first = stored(answer["setl_id"]), stored(original["setl_id"])
    assert kept["init_setl_id"] == original["setl_id"] and kept["medfee_sumamt"] == Decimal("128.40")
    for name in ("psn_no", "psn_name", "certno_masked", "insutype", "clr_type", "med_type", "psn_type", "facility_id"):
        assert kept[name] == first[name], name
    assert api_as(clerk).post(URL, [answer], format="json").json()["duplicates"] == 1  # a resend changes nothing
    line = stats.stored(OCT)[(clinic.pk, OCT, "390", "11")]
    assert line[:3] == (0, 1, Decimal("0.00")) and stats.stored(OCT) == stats.recomputed(OCT)
    side = reconciliation.platform_totals(begin=OCT, end=datetime.date(2026, 10, 31))  # Cunyi's side of 3201
    assert side == {clinic.pk: {("390", "11", "451028"): {"fixmedins_setl_cnt": 0, "medfee_sumamt": Decimal("0.00"),
                                                        "fund_pay_sumamt": Decimal("0.00"), "acct_pay": Decimal("0.00")}}}


def test_a_2208_answer_in_the_same_upload_as_its_original_and_one_without_an_original(clinic, clerk):
    original = setlinfo(clinic, 1)
    lost = answer_2208(setlinfo(clinic, 9), 9)
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([original, answer_2208(original, 1, sign=1), lost]))
    assert (batch.accepted, batch.rejected) == (2, 1)
    assert "缺少必填字段" in RejectedSettlementRow.objects.get(batch=batch).reason


def test_a_terminal_is_not_completed_from_another_clinics_settlement(clinic, other_clinic, clerk, roles):
    original = setlinfo(clinic, 1)
    settlements_import(source="api", acting_user=clerk, rows=numbered([original]))
    stranger = make_user(Role.API_CLIENT, facility=other_clinic, username="stranger")
    reply = api_as(stranger).post(URL, [answer_2208(original, 1)], format="json").json()
    assert (reply["accepted"], reply["rejected"]) == (0, 1)
    reason = reply["rejected_rows"][0]["reason"]
    assert "缺少必填字段" in reason and clinic.code not in reason and clinic.platform_code not in reason


def test_a_reversal_mixing_signs_is_refused(clinic, clerk):
    original = setlinfo(clinic, 1)
    reversal = setlinfo(clinic, 2, init_setl_id=original["setl_id"], medfee_sumamt=-128.40)
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([original, reversal]))
    assert (batch.accepted, batch.rejected) == (1, 1)
    assert "为负数" in RejectedSettlementRow.objects.get(batch=batch).reason


@pytest.mark.parametrize(
    ("field", "value", "dictionary"),
    [("med_type", "15", "医疗类别"), ("insutype", "999", "险种类型"), ("psn_type", "77", "人员类别"), ("clr_way", "9", "清算方式"),
     ("psn_cert_type", "ZZ", "人员证件类型"), ("clr_type", "14", "清算类别")],
)
def test_an_unknown_code_is_refused_naming_its_dictionary(clinic, clerk, field, value, dictionary):
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([setlinfo(clinic, 1, **{field: value})]))
    assert (batch.accepted, batch.rejected) == (0, 1)
    reason = RejectedSettlementRow.objects.get(batch=batch).reason
    assert f"（{field}）“{value}”" in reason and f"字典“{dictionary}”" in reason


def test_an_unconfirmed_relation_warns_and_a_confirmed_one_refuses(clinic, clerk, client):
    off = setlinfo(clinic, 1, cvlserv_pay=1.00)  # the total adds up; the fund items no longer make the fund total
    batch = settlements_import(source="api", acting_user=clerk, rows=numbered([off]))
    assert (batch.accepted, batch.warned, batch.rejected) == (1, 1, 0)
    warning = SettlementImportWarning.objects.get(batch=batch)
    assert (warning.code, warning.row_number, warning.setl_id) == ("fund_items", 2, off["setl_id"])
    assert "fund_pay_sumamt 96.30" in warning.message and "97.30" in warning.message

    client.force_login(clerk)
    page = client.get(f"/admin/settlements/settlementimport/{batch.pk}/change/").content.decode()
    assert "fund_items" in page and "不等于各基金支出项" in page and "接受但有提示的行" in page

    with override_settings(SETTLEMENT_CONFIRMED_RELATIONS=("fund_items",)):
        confirmed = settlements_import(source="api", acting_user=clerk, rows=numbered([setlinfo(clinic, 2, cvlserv_pay=1.00)]))
    assert (confirmed.accepted, confirmed.rejected) == (0, 1)


def test_an_old_his_file_without_the_2207_columns_lands_with_the_new_fields_empty(clinic, clerk):
    old = as_text(setlinfo(clinic, 1, fixmedins_code=clinic.code, hosp_part_amt=0, medfee_sumamt=123.40))
    data = csv_text(list(BASE_FIELDS), [[old[f] for f in BASE_FIELDS]]).encode()
    batch = settlements_import(source="upload", acting_user=clerk, data=data, filename="old.csv")
    assert (batch.accepted, batch.rejected, batch.warned) == (1, 0, 0)
    kept = stored(old["setl_id"])
    assert all(kept[f] is None for f in PLATFORM_FIELDS), {f: kept[f] for f in PLATFORM_FIELDS if kept[f] is not None}
    assert kept["medfee_sumamt"] == Decimal("123.40")


def test_the_admin_shows_the_2207_fields_under_their_chinese_names(clinic, clerk, client):
    settlements_import(source="api", acting_user=clerk, rows=numbered([setlinfo(clinic, 1)]))
    record = SettlementRecord.objects.get()
    client.force_login(clerk)
    page = client.get(f"/admin/settlements/settlementrecord/{record.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    for shown in ("14 门诊慢特病", "390 城乡居民基本医疗保险", "11 门诊", "01 按项目", "16 居民（老年）", "02 居民身份证"):
        assert shown in text, shown  # codes with their dictionary names
    for label in ("医疗类别", "医院负担金额", "居民大病保险资金支出", "个人负担总金额", "清算经办机构", "清算方式", "人员类别", "基金支付总额"):
        assert label in text, label


@pytest.mark.parametrize("path", ["api", "csv"])
def test_the_relation_tolerance_is_a_setting(clinic, clerk, path):
    """A confirmed relation refuses a row off by one cent at tolerance 0.00 and takes it at 0.01,
    on the API's engine and on the file's (the fast lane on PostgreSQL)."""

    def send(n):
        values = setlinfo(clinic, n, cvlserv_pay=0.01)  # the fund items make 96.31 against fund_pay_sumamt 96.30
        if path == "api":
            return settlements_import(source="api", acting_user=clerk, rows=numbered([values]))
        return settlements_import(source="upload", acting_user=clerk, data=his_csv([values]), filename="his.csv")

    with override_settings(SETTLEMENT_CONFIRMED_RELATIONS=("fund_items",), SETTLEMENT_RELATION_TOLERANCE=Decimal("0.00")):
        strict = send(1)
    with override_settings(SETTLEMENT_CONFIRMED_RELATIONS=("fund_items",), SETTLEMENT_RELATION_TOLERANCE=Decimal("0.01")):
        lenient = send(2)
    assert (strict.accepted, strict.rejected) == (0, 1)
    assert "不等于各基金支出项" in RejectedSettlementRow.objects.get(batch=strict).reason
    assert (lenient.accepted, lenient.rejected, lenient.warned) == (1, 0, 0)
