"""The funding-source report (townships × sources, totals, reach, XLSX with numeric cells, flat
query count) and the one money format on every payroll page."""

import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from clinics.models import Role
from staffing.payroll.models import FundingSource, PayslipLine, PayslipLineFunding
from staffing.payroll.review.funding import funding_report
from tests.factories import FacilityFactory, PostingFactory, TownshipFactory, make_user
from tests.payroll.conftest import NOV, OCT, approve, run_month

pytestmark = pytest.mark.django_db


def _townships(n, doctors_each=2, start=0):
    towns = []
    for i in range(start, start + n):
        town = TownshipFactory(name=f"镇{i}", code=f"4510281{i:02d}")
        clinic = FacilityFactory(township=town)
        for _ in range(doctors_each):
            PostingFactory(facility=clinic)
        towns.append(town)
    return towns


def test_report_rows_are_townships_columns_sources_and_totals_match_the_run(policies, visits, roles):
    towns = _townships(2)
    run = approve(run_month(OCT))
    officer = make_user(Role.PAYROLL_OFFICER)
    report = funding_report(user=officer, month=OCT)
    codes = [code for code, _label in report.sources]
    assert codes[:4] == [FundingSource.COUNTY_FINANCE, FundingSource.PUBLIC_HEALTH_FUND, FundingSource.ESSENTIAL_MEDICINES_FUND,
                         FundingSource.MEDICAL_INSURANCE]
    assert FundingSource.DOCTOR not in codes
    by_town = {row.township: row for row in report.rows}
    assert set(by_town) >= {t.name for t in towns}
    assert report.total == run.gross_total
    for town in towns:
        lines = PayslipLineFunding.objects.filter(line__payslip__township=town, line__kind=PayslipLine.Kind.EARNING)
        assert by_town[town.name].total == sum((f.amount for f in lines), Decimal("0"))
    assert report.totals[FundingSource.COUNTY_FINANCE] == sum(r.amounts.get(FundingSource.COUNTY_FINANCE, 0) for r in report.rows)


def test_township_admin_sees_his_township_only(policies, visits, roles, client):
    first, second = _townships(2)
    approve(run_month(OCT))
    mine = make_user(Role.TOWNSHIP_ADMIN, township=first)
    report = funding_report(user=mine, month=OCT)
    assert [row.township for row in report.rows] == [first.name]
    client.force_login(mine)
    body = client.get(reverse("admin:payroll_payrun_funding_report"), {"month": "2026-10"}).content.decode()
    assert first.name in body and second.name not in body


def test_report_page_and_xlsx_query_flat_over_townships(policies, visits, roles, client):
    officer = make_user(Role.PAYROLL_OFFICER)
    client.force_login(officer)
    url = reverse("admin:payroll_payrun_funding_report")

    def queries(n, month, start):
        _townships(n, doctors_each=1, start=start)
        approve(run_month(month))
        with CaptureQueriesContext(connection) as page:
            response = client.get(url, {"month": f"{month:%Y-%m}"})
        assert response.status_code == 200
        return len(page), response.content.decode()

    few, _ = queries(2, OCT, 0)
    many, body = queries(6, NOV, 2)  # approved runs cannot be deleted: a second month with more townships
    assert many == few, f"{few} queries for 2 townships, {many} for 8"
    assert re.search(r"\d{1,3},\d{3}\.\d{2}", body), "amounts as 1,400.00"
    sheet = client.get(url, {"month": "2026-11", "format": "xlsx"})
    assert sheet["Content-Disposition"].endswith('funding-sources-2026-11.xlsx"')
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    header, body_rows, total = rows[0], rows[1:-1], rows[-1]
    assert header[0] and header[-1] and len(header) == len(total)
    # Every township in reach is a row (those of October's run too), whatever it was paid in November.
    assert len(body_rows) == 8 and all(isinstance(v, (int, float)) for r in body_rows for v in r[2:])
    assert isinstance(body_rows[0][1], str)  # the township code stays text
    assert abs(sum(r[-1] for r in body_rows) - total[-1]) < 0.005
    assert client.get(url, {"month": "10/2026"}).status_code == 200  # a bad month: a message, not a 500


def test_pages_show_money_with_thousands_separators(policies, visits, county_admin, roles, client):
    posting = PostingFactory()
    doctor_user = make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor)
    run = approve(run_month(OCT))
    slip = run.payslips.get()
    fmt = f"{slip.net:,.2f}"
    assert "," in f"{Decimal('1400'):,.2f}"
    client.force_login(county_admin)
    pages = {
        "run list": reverse("admin:payroll_payrun_changelist"),
        "run page": reverse("admin:payroll_payrun_change", args=[run.pk]),
        "payslip list": reverse("admin:payroll_payslip_changelist"),
        "payslip page": reverse("admin:payroll_payslip_change", args=[slip.pk]),
        "year to date": reverse("admin:payroll_payslip_ytd", args=[posting.doctor_id, 2026]),
    }
    for name, url in pages.items():
        body = client.get(url).content.decode()
        assert fmt in body, name
        assert f">{slip.net}<" not in body, f"{name} prints {slip.net} without separators"
    payslip_page = client.get(pages["payslip page"]).content.decode()
    assert "1,400.00" in payslip_page, "the line amount"
    assert "&quot;payable_days&quot;" not in payslip_page and "roster_unpublished&quot;" not in payslip_page
    client.force_login(doctor_user)
    for url in (reverse("payroll:index"), reverse("payroll:payslip", args=[slip.pk])):
        body = client.get(url).content.decode()
        assert fmt in body and "&quot;payable_days&quot;" not in body and "{&quot;" not in body
