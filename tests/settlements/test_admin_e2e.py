"""The settlement pages in a real browser (Chinese admin), with screenshots under var/screenshots/."""

import datetime

import pytest

from clinics.settlements.models import SettlementImport
from clinics.settlements.services import anomalies_detect, answer_record, reconciliation_compute, settlements_import
from tests.browser import follow, shot
from tests.settlements.helpers import csv_bytes, row

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_clerk_sees_log_upload_report_reconciliation_and_anomalies(browser, live_server, clinic, other_clinic, clerk):  # noqa: F811
    rows = [row(clinic, n) for n in range(1, 6)] + [row(clinic, 6, medfee_sumamt="9.00"), row(clinic, 7, insutype="9")]
    settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="十月结算.csv")
    batch = settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="十月结算.csv")
    (rec,) = reconciliation_compute(begin=datetime.date(2026, 10, 1), end=datetime.date(2026, 10, 31))
    answer_record(line=rec.totals.get(), stmt_rslt="1", stmt_rslt_dscr="中心多")
    anomalies_detect(month=datetime.date(2026, 10, 1))

    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", clerk.username)
    page.fill("#id_password", "a-long-test-password-1")
    follow(page, "input[type=submit]")

    page.goto(f"{live_server.url}/admin/settlements/settlementrecord/")
    assert page.locator("#result_list tbody tr").count() == 5
    shot(page, "settlements-admin-log")

    page.goto(f"{live_server.url}/admin/settlements/settlementimport/{batch.pk}/change/")
    body = page.content()
    assert "medfee_sumamt（9.00）不等于" in body and "（insutype）“9”不是字典“险种类型”中已启用的代码" in body
    shot(page, "settlements-admin-import-rejected-rows")

    page.goto(f"{live_server.url}/admin/settlements/reconciliation/?month=2026-10")
    assert "导出本月结果（XLSX）" in page.content()
    shot(page, "settlements-admin-reconciliation")

    page.goto(f"{live_server.url}/admin/settlements/activityanomaly/?month=2026-10")
    assert "在岗但当月无结算" in page.content()
    shot(page, "settlements-admin-anomalies")

    page.goto(f"{live_server.url}/admin/settlements/settlementrecord/summary/?month=2026-10&clinic={clinic.pk}")
    assert "按医保医师代码" in page.content()
    shot(page, "settlements-admin-summary")
    assert SettlementImport.objects.count() == 2
    context.close()
