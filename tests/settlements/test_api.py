import pytest
from rest_framework.test import APIClient

from clinics.models import Role
from clinics.settlements.models import SettlementRecord
from clinics.settlements.services import settlements_import
from tests.api_client_helpers import api_token_for
from tests.conftest import api_as
from tests.factories import make_user
from tests.settlements.helpers import numbered, row

pytestmark = pytest.mark.django_db
URL = "/api/v1/settlements/"


def test_terminal_uploads_with_its_token_and_only_for_its_clinic(clinic, other_clinic, terminal):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(terminal)}")
    body = [row(clinic, 1), row(clinic, 2, medfee_sumamt="99.00"), row(other_clinic, 3)]
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    report = response.json()
    assert (report["accepted"], report["duplicates"], report["rejected"]) == (1, 0, 2)
    assert [r["row"] for r in report["rejected_rows"]] == [2, 3]
    assert "只能上传本卫生室" in report["rejected_rows"][1]["reason"]

    again = client.post(URL, body[:1], format="json").json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)


def test_numbers_as_json_numbers(clinic, clerk):
    body = [dict(row(clinic, 1), medfee_sumamt=50, fund_pay_sumamt=40.0, hifp_pay=35, maf_pay=5, acct_pay=2, psn_cash_pay=8)]
    assert api_as(clerk).post(URL, body, format="json").json()["accepted"] == 1


def test_upload_refusals(clinic, clerk, roles):
    assert api_as(clerk).post(URL, {"setl_id": "x"}, format="json").json()["detail"] == "请以 JSON 数组提交结算记录。"
    too_many = api_as(clerk).post(URL, [{}] * 5001, format="json")
    assert too_many.status_code == 400 and "最多提交 5000 条" in too_many.json()["detail"]
    assert "第 2 项不是 JSON 对象" in api_as(clerk).post(URL, [{}, 3], format="json").json()["detail"]
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=clinic.township)
    denied = api_as(township_admin).post(URL, [row(clinic, 1)], format="json")
    assert denied.status_code == 403
    assert APIClient().post(URL, [row(clinic, 1)], format="json").status_code in (401, 403)
    assert SettlementRecord.objects.count() == 0


def test_no_update_or_delete(clinic, clerk):
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, 1)]))
    pk = SettlementRecord.objects.get().pk
    client = api_as(clerk)
    assert client.delete(f"{URL}{pk}/").status_code == 404
    assert client.put(URL, [], format="json").status_code == 405
    assert client.delete(URL).status_code == 405


@pytest.fixture
def village_doctor(roles, clinic):
    return make_user(Role.VILLAGE_DOCTOR, facility=clinic, username="doctor")


def test_list_is_scoped_and_flat_in_queries(clinic, other_clinic, clerk, village_doctor, django_assert_max_num_queries):
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, n) for n in range(1, 6)]))
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(other_clinic, n) for n in range(6, 9)]))
    mine = api_as(village_doctor).get(URL).json()
    assert {r["fixmedins_code"] for r in mine["results"]} == {clinic.code}
    assert len(mine["results"]) == 5
    everything = api_as(clerk).get(URL).json()
    assert len(everything["results"]) == 8
    with django_assert_max_num_queries(4):
        api_as(clerk).get(URL)
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(other_clinic, n) for n in range(10, 40)]))
    with django_assert_max_num_queries(4):
        assert len(api_as(clerk).get(URL).json()["results"]) == 38


def test_summary(clinic, other_clinic, clerk, village_doctor):
    original = row(clinic, 1)
    rows = [original, row(clinic, 2), row(clinic, 3, init_setl_id=original["setl_id"]), row(other_clinic, 4)]
    settlements_import(source="api", acting_user=clerk, rows=numbered(rows))
    data = api_as(village_doctor).get(f"{URL}summary/?month=2026-10").json()
    assert len(data) == 1
    assert (data[0]["visits"], data[0]["reversals"], data[0]["medfee_sumamt"]) == (1, 1, "50.00")
    assert api_as(clerk).get(f"{URL}summary/?month=2026-13").status_code == 400
