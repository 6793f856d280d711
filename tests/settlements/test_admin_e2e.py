"""The settlement pages in a real browser (Chinese admin), with screenshots under var/screenshots/."""

import datetime

import pytest

from clinics.settlements.models import SettlementImport
from clinics.settlements.services import anomalies_detect, answer_record, reconciliation_compute, settlements_import
from tests.browser import follow, shot
from tests.settlements.helpers import csv_bytes, row

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def signed_in(browser, live_server, user, *, width: int = 1400):
    """A Chinese browser of `width` pixels signed in to the admin as `user`: (context, page)."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "a-long-test-password-1")
    follow(page, "input[type=submit]")
    return context, page


def test_clerk_sees_log_upload_report_reconciliation_and_anomalies(browser, live_server, clinic, other_clinic, clerk):  # noqa: F811
    rows = [row(clinic, n) for n in range(1, 6)] + [row(clinic, 6, medfee_sumamt="9.00"), row(clinic, 7, insutype="9")]
    settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="十月结算.csv")
    batch = settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="十月结算.csv")
    (rec,) = reconciliation_compute(begin=datetime.date(2026, 10, 1), end=datetime.date(2026, 10, 31))
    answer_record(line=rec.totals.get(), stmt_rslt="1", stmt_rslt_dscr="中心多")
    anomalies_detect(month=datetime.date(2026, 10, 1))

    context, page = signed_in(browser, live_server, clerk)

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


def test_clerk_reconciles_the_platforms_way_in_the_browser(browser, live_server, clinic, other_clinic, clerk, tmp_path):
    """3201 computed and answered, the 3202 result with one row of each outcome imported, and a 2207
    record with a hospital share, as the insurance clerk sees them (Chinese admin)."""
    import shutil
    from pathlib import Path

    from clinics.settlements.models import ReconciliationItem, ReconciliationTotal, SettlementRecord
    from tests.browser import SCREENSHOTS
    from tests.settlements.test_platform_fields import setlinfo
    from tests.settlements.test_reconciliation import A, B, log, result_lines, s

    clinic.platform_code = f"H451028{clinic.pk:05d}"
    clinic.save(update_fields=["platform_code"])
    log([row(clinic, 1, clr_optins=A), row(clinic, 2, clr_optins=A), row(clinic, 3, insutype="310", clr_optins=A),
         row(clinic, 4, clr_optins=B), row(clinic, 5, clr_optins=A, init_setl_id=s(clinic, 1)),
         row(clinic, 6, clr_optins=A, setl_time="2026-10-15 23:30:00"), row(other_clinic, 7, clr_optins=A)], clerk)
    settlements_import(source="api", acting_user=clerk, rows=[(2, setlinfo(clinic, 1))])
    result = tmp_path / "result.txt"
    result.write_text("\n".join(result_lines(clinic, other_clinic)), encoding="utf-8")

    context, page = signed_in(browser, live_server, clerk)
    shots = []

    page.goto(f"{live_server.url}/admin/settlements/reconciliation/compute/")
    page.fill("#id_month", "2026-10")
    follow(page, "input[type=submit]")
    assert "3201" in page.content()
    line = ReconciliationTotal.objects.get(reconciliation__facility=clinic, insutype="390", setl_optins=A)
    page.goto(f"{live_server.url}/admin/settlements/reconciliation/line/{line.pk}/answer/")
    page.select_option("#id_stmt_rslt", "1")
    page.fill("#id_stmt_rslt_dscr", "中心多 5.00 元")
    follow(page, "input[type=submit]")
    body = page.content()
    assert "中心多 5.00 元" in body and "中心多" in body
    shots.append(shot(page, "settlements-3201-answered"))

    page.goto(f"{live_server.url}/admin/settlements/reconciliation/result/")
    page.select_option("#id_clinic", str(clinic.pk))
    page.fill("#id_month", "2026-10")
    page.set_input_files("#id_file", str(result))
    follow(page, "input[type=submit]")
    body = page.content()
    assert ReconciliationItem.objects.count() == 8
    for label in ("账账相符", "本系统缺失", "中心缺少", "金额不符", "记在其他卫生室或险种下", "平台报告差异，但村医系统看不出"):
        assert label in body, label  # one row of each outcome, with what to do about it
    assert other_clinic.code in body and "差额" in body and "金额不符" in body and "补传结算" in body
    shots.append(shot(page, "settlements-3202-result-every-outcome"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    shots.append(shot(page, "settlements-3202-result-every-outcome-1920"))
    page.set_viewport_size({"width": 1400, "height": 900})

    record = SettlementRecord.objects.get(setl_id=setlinfo(clinic, 1)["setl_id"])
    page.goto(f"{live_server.url}/admin/settlements/settlementrecord/{record.pk}/change/")
    body = page.content()
    assert "医院负担金额" in body and "5.00" in body and "14 门诊慢特病" in body
    shots.append(shot(page, "settlements-2207-record-hospital-share"))
    context.close()
    for path in shots:  # also where the evidence is collected
        Path("/tmp/shots/platform").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path("/tmp/shots/platform") / path.name)
    assert SCREENSHOTS.exists()


def test_a_reconciliations_3201_lines_fit_a_laptop_screen(browser, live_server, clinic, clerk):
    """The reconciliation's page lists its 3201 lines in 13 columns: on a 1366-pixel laptop the page
    itself must not scroll sideways; a table wider than the content scrolls inside its own box."""
    rows = [row(clinic, n) for n in range(1, 4)] + [row(clinic, 4, insutype="310")]
    settlements_import(source="upload", acting_user=clerk, data=csv_bytes(rows), filename="十月结算.csv")
    (rec,) = reconciliation_compute(begin=datetime.date(2026, 10, 1), end=datetime.date(2026, 10, 31))
    for line in rec.totals.all():
        answer_record(line=line, stmt_rslt="1", stmt_rslt_dscr="中心多 5.00 元，请核对当日退费记录")
    context, page = signed_in(browser, live_server, clerk, width=1366)
    page.goto(f"{live_server.url}/admin/settlements/reconciliation/{rec.pk}/change/")
    assert "3201" in page.content()
    shot(page, "settlements-3201-lines-1366")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page is {width} px wide: it scrolls sideways on a laptop"
    # Every column is on the screen, the answer's link last: no scrolling inside the box either.
    link = page.locator(".inline-group .tabular a", has_text="录入答复").first
    box = link.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1366, box
    assert "后台录入 · " in page.inner_text(".inline-group .tabular")
    context.close()
