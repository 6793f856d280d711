import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from clinics.models import Role
from clinics.settlements.models import SettlementImport, SettlementRecord
from clinics.settlements.services import anomalies_detect, settlements_import
from tests.factories import make_user
from tests.settlements.helpers import csv_bytes, numbered, row

pytestmark = pytest.mark.django_db


def add(clinic, clerk, start, n):
    settlements_import(source="api", acting_user=clerk, rows=numbered([row(clinic, start + i) for i in range(n)]))


@pytest.mark.parametrize(
    "url",
    [
        "/admin/settlements/settlementrecord/",
        "/admin/settlements/settlementrecord/?month=2026-10",
        "/admin/settlements/settlementimport/",
        "/admin/settlements/rejectedsettlementrow/",
        "/admin/settlements/reconciliation/",
        "/admin/settlements/reconciliationitem/",
        "/admin/settlements/activityanomaly/",
    ],
)
def test_changelists_have_flat_query_counts(clinic, clerk, client, url, django_assert_max_num_queries):
    client.force_login(clerk)
    add(clinic, clerk, 1, 5)
    with django_assert_max_num_queries(12) as first:
        assert client.get(url).status_code == 200
    add(clinic, clerk, 100, 15)
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert client.get(url).status_code == 200


def test_log_is_read_only_in_admin(clinic, clerk, client, county_admin):
    add(clinic, clerk, 1, 1)
    record = SettlementRecord.objects.get()
    client.force_login(county_admin)
    page = client.get(f"/admin/settlements/settlementrecord/{record.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(f"/admin/settlements/settlementrecord/{record.pk}/delete/").status_code == 403
    assert client.get("/admin/settlements/settlementrecord/add/").status_code == 403
    listing = client.get("/admin/settlements/settlementrecord/")
    assert b"delete_selected" not in listing.content


def test_clinic_user_sees_only_its_clinic(clinic, other_clinic, clerk, client, roles):
    add(clinic, clerk, 1, 2)
    add(other_clinic, clerk, 10, 3)
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=clinic.township)
    client.force_login(township_admin)
    page = client.get("/admin/settlements/settlementrecord/")
    assert page.status_code == 200
    assert row(clinic, 1)["setl_id"].encode() in page.content
    assert row(other_clinic, 10)["setl_id"].encode() not in page.content


def test_upload_twice_in_admin_and_download_rejected_rows(clinic, clerk, client):
    client.force_login(clerk)
    data = csv_bytes([row(clinic, 1), row(clinic, 2, insutype="999"), row(clinic, 3)])
    first = client.post("/admin/settlements/settlementimport/upload/",
                        {"file": SimpleUploadedFile("s.csv", data)}, follow=True)
    assert "已接收 2 条，重复 0 条（已记录，未改动），拒收 1 条。" in first.content.decode()
    assert "（insutype）" in first.content.decode() or "(insutype)" in first.content.decode()
    second = client.post("/admin/settlements/settlementimport/upload/",
                         {"file": SimpleUploadedFile("s.csv", data)}, follow=True)
    assert "已接收 0 条，重复 2 条（已记录，未改动），拒收 1 条。" in second.content.decode()
    batch = SettlementImport.objects.order_by("-id").first()
    # the result page links the file of every rejected row
    assert f'href="/admin/settlements/settlementimport/{batch.pk}/rejected.xlsx"' in second.content.decode()
    download = client.get(f"/admin/settlements/settlementimport/{batch.pk}/rejected.xlsx")
    sheet = load_workbook(io.BytesIO(download.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == 3 and rows[1][2 + 5] == "999"


def test_upload_of_unreadable_file_shows_the_reason(clerk, client):
    client.force_login(clerk)
    page = client.post("/admin/settlements/settlementimport/upload/", {"file": SimpleUploadedFile("s.pdf", b"%PDF")})
    assert "请上传 .csv 或 .xlsx 文件" in page.content.decode() or "csv" in page.content.decode()
    assert SettlementImport.objects.count() == 0


def test_summary_page(clinic, clerk, client):
    add(clinic, clerk, 1, 3)
    client.force_login(clerk)
    page = client.get(f"/admin/settlements/settlementrecord/summary/?month=2026-10&clinic={clinic.pk}").content.decode()
    assert clinic.name in page and "150.00" in page and "D00000001" in page
    # headed by the fields' Chinese names, the platform's code in brackets; no bare code as a header
    assert "医疗费总额 <span class=\"code\">(medfee_sumamt)</span>" in page
    assert "<th>medfee_sumamt</th>" not in page and "MEDFEE_SUMAMT" not in page


def test_anomaly_page_shows_figures(clinic, clerk, client):
    import datetime

    anomalies_detect(month=datetime.date(2026, 10, 1))
    client.force_login(clerk)
    page = client.get("/admin/settlements/activityanomaly/?month=2026-10").content.decode()
    assert "在岗但当月无结算" in page and clinic.name in page


def test_search_by_exact_setl_id_finds_the_settlement_and_its_reversal(clinic, clerk, client):
    original = row(clinic, 1)
    settlements_import(source="api", acting_user=clerk,
                       rows=numbered([original, row(clinic, 2), row(clinic, 3, init_setl_id=original["setl_id"])]))
    client.force_login(clerk)
    page = client.get(f"/admin/settlements/settlementrecord/?q={original['setl_id']}").content.decode()
    assert row(clinic, 3)["setl_id"] in page and row(clinic, 2)["setl_id"] not in page
