"""Who sees which payslips (API, phone pages, admin) and query counts that stay flat."""

import datetime
import re

import pytest
from django.urls import reverse

from clinics.models import Role
from notifications.models import Notification
from staffing.payroll import services
from staffing.payroll.models import PayRun, Payslip
from tests.conftest import api_as
from tests.factories import PostingFactory, clinic_with_doctors, make_user
from tests.payroll.conftest import OCT, approve, run_month

pytestmark = pytest.mark.django_db


def test_a_doctor_sees_only_their_own_approved_payslips(policies, visits, roles):
    clinic, (mine, colleague) = clinic_with_doctors(2)
    user = make_user(Role.VILLAGE_DOCTOR, doctor=mine)
    client = api_as(user)
    run = run_month(OCT)
    assert client.get("/api/v1/payroll/payslips/", {"month": "2026-10"}).json()["results"] == []  # not approved yet
    approve(run)

    body = client.get("/api/v1/payroll/payslips/", {"month": "2026-10"}).json()
    assert [row["doctor"] for row in body["results"]] == [mine.pk]
    slip = body["results"][0]
    assert slip["month"] == "2026-10"
    assert {"gross", "deductions", "net", "lines"} <= set(slip)
    assert {"component", "quantity", "rate", "amount"} <= set(slip["lines"][0])
    assert slip["lines"][0]["component"] == "fixed_subsidy"
    assert client.get("/api/v1/payroll/payslips/", {"month": "2026-09"}).json()["results"] == []
    other = Payslip.objects.get(run=run, doctor=colleague)
    assert client.get(f"/api/v1/payroll/payslips/{other.pk}/").status_code == 404
    bad = client.get("/api/v1/payroll/payslips/", {"month": "10/2026"})
    assert bad.status_code == 400 and "YYYY-MM" in bad.json()["fields"]["month"][0]


def test_township_admin_sees_only_the_township(policies, visits, roles):
    here, _ = clinic_with_doctors(2)
    clinic_with_doctors(2)  # another township
    approve(run_month(OCT))
    admin = make_user(Role.TOWNSHIP_ADMIN, township=here.township)
    rows = api_as(admin).get("/api/v1/payroll/payslips/").json()["results"]
    assert len(rows) == 2 and {r["clinic"] for r in rows} == {here.name}
    officer = make_user(Role.PAYROLL_OFFICER)
    assert api_as(officer).get("/api/v1/payroll/payslips/").json()["count"] == 4


def _clinics(n):
    for _ in range(n):
        clinic_with_doctors(2)


def test_payslip_api_query_count_is_flat(policies, visits, roles, django_assert_max_num_queries):
    officer = make_user(Role.PAYROLL_OFFICER)
    _clinics(3)
    approve(run_month(OCT))
    client = api_as(officer)
    with django_assert_max_num_queries(8) as small:
        assert client.get("/api/v1/payroll/payslips/").json()["count"] == 6
    _clinics(6)
    approve(run_month(datetime.date(2026, 11, 1)))
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/api/v1/payroll/payslips/").json()["count"] == 6 + 18


def test_payroll_run_query_count_does_not_grow_with_doctors(policies, visits, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _clinics(2)
    with CaptureQueriesContext(connection) as small:
        run_month(OCT)
    approve(PayRun.objects.get(month=OCT))
    _clinics(6)
    with CaptureQueriesContext(connection) as large:
        run_month(datetime.date(2026, 11, 1))
    # November also re-checks approved October for corrections: one more month's reads.
    assert Payslip.objects.filter(month=datetime.date(2026, 11, 1)).count() == 16
    assert len(large.captured_queries) <= 2 * len(small.captured_queries) + 5


def test_admin_changelists_query_counts_are_flat(policies, visits, county_admin, client, django_assert_max_num_queries):
    client.force_login(county_admin)
    _clinics(2)
    approve(run_month(OCT))
    counts = {}
    for name in ("payroll_payslip_changelist", "payroll_payrun_changelist"):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(f"admin:{name}")).status_code == 200
        counts[name] = len(ctx.captured_queries)
    _clinics(6)
    approve(run_month(datetime.date(2026, 11, 1)))
    for name, count in counts.items():
        with django_assert_max_num_queries(count):
            response = client.get(reverse(f"admin:{name}"))
        assert response.status_code == 200
    body = client.get(reverse("admin:payroll_payrun_changelist")).content.decode()
    assert "<svg" in body and "各月按项目合计" in body
    # Nothing loaded from another host (a CDN). Searching for the letters "cdn" matched a random
    # CSRF token now and then.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", body)


def test_phone_pages_show_own_payslip_and_pdf(policies, visits, roles, client):
    posting = PostingFactory()
    user = make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor)
    run = approve(run_month(OCT))
    slip = Payslip.objects.get(run=run, doctor=posting.doctor)
    assert not Notification.objects.filter(recipient=user, kind="payslip_available").exists()  # told when paid, not approved
    services.payrun_mark_paid(run=run, acting_user=None)
    notice = Notification.objects.filter(recipient=user, kind="payslip_available").first()
    assert "2026年10月" in notice.body and f"{slip.net:,.2f}" in notice.body
    client.force_login(user)
    home = client.get("/m/").content.decode()
    assert "我的工资" in home
    index = client.get(reverse("payroll:index")).content.decode()
    assert "2026-10" in index and f"{slip.net:,.2f}" in index
    detail = client.get(reverse("payroll:payslip", args=[slip.pk])).content.decode()
    assert "县级定额补助，全月" in detail and "1,400.00" in detail
    pdf = client.get(reverse("payroll:payslip_pdf", args=[slip.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    other = PostingFactory()
    stranger = make_user(Role.VILLAGE_DOCTOR, doctor=other.doctor)
    client.force_login(stranger)
    assert client.get(reverse("payroll:payslip", args=[slip.pk])).status_code == 404


def _inputs_for(doctors, township):
    from decimal import Decimal

    from staffing.payroll.models import Assessment, InsuranceScheme, OneOffItem, PayPolicy, PayProfile

    scheme = InsuranceScheme.objects.get(code="employee")
    PayPolicy.objects.create(name="乡镇政策", township=township, effective_from=datetime.date(2026, 1, 1))
    for doctor in doctors:
        Assessment.objects.create(doctor=doctor, period="month", period_start=OCT, score=Decimal("88"))
        OneOffItem.objects.create(doctor=doctor, month=OCT, kind="bonus", amount=Decimal("50"), description="奖励")
        PayProfile.objects.create(doctor=doctor, scheme=scheme)


@pytest.mark.parametrize("model", ["paypolicy", "insurancescheme", "payprofile", "assessment", "oneoffitem"])
def test_input_changelists_query_counts_are_flat(model, policies, county_admin, client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(county_admin)
    url = reverse(f"admin:payroll_{model}_changelist")
    for _ in range(2):
        clinic, doctors = clinic_with_doctors(2)
        _inputs_for(doctors, clinic.township)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for _ in range(4):
        clinic, doctors = clinic_with_doctors(2)
        _inputs_for(doctors, clinic.township)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200


def test_township_admin_cannot_export_the_county_run(policies, visits, roles, client):
    here, _ = clinic_with_doctors(2)
    run = approve(run_month(OCT))
    client.force_login(make_user(Role.TOWNSHIP_ADMIN, township=here.township))
    assert client.get(reverse("admin:payroll_payrun_bank_files", args=[run.pk])).status_code == 404
    payslips = client.get(reverse("admin:payroll_payslip_changelist")).content.decode()
    assert here.name in payslips
