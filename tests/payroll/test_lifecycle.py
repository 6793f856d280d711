"""The pay run's lifecycle through its one StateMachine (draft → calculated → approved → paid): a
forbidden step is a 409 Conflict with a Chinese message, in the services, the API handler and the
admin; the admin's policy, scheme and profile saves go through audited services; the monthly
chart is drawn by core.charts with its data table."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.translation import gettext

from core.api import exception_handler
from core.errors import Conflict
from core.models import AuditEntry
from staffing.payroll import exports, services
from staffing.payroll.errors import PayRunConflict
from staffing.payroll.models import InsuranceScheme, PayRun
from staffing.payroll.selectors import monthly_component_totals
from tests.factories import clinic_with_doctors
from tests.payroll.conftest import OCT, approve, run_month

pytestmark = pytest.mark.django_db


def test_the_table_of_steps():
    flow = services.RUN_FLOW
    assert flow.targets("draft") == {"calculated"}
    assert flow.targets("calculated") == {"calculated", "approved"}
    assert flow.targets("approved") == {"paid"}
    assert flow.targets("paid") == set()


def test_forbidden_steps_are_409_conflicts_with_the_runs_own_message(policies, visits, county_admin):
    clinic_with_doctors(2)
    draft = services.payrun_create(month=OCT, acting_user=county_admin)
    with pytest.raises(PayRunConflict) as exc:
        services.payrun_approve(run=draft, acting_user=county_admin, acknowledge_warnings=True)
    assert isinstance(exc.value, Conflict) and exc.value.code == "invalid_transition"
    assert exc.value.messages == ["只有已计算的批次可以审批；该批次为草稿。"]
    response = exception_handler(exc.value, {})
    assert response.status_code == 409 and response.data["code"] == "invalid_transition" and response.data["state"] == "draft"

    calculated = services.payrun_calculate(run=draft, acting_user=county_admin)
    with pytest.raises(PayRunConflict, match="只有已审批的批次"):
        services.payrun_mark_paid(run=calculated, acting_user=county_admin)
    approved = approve(calculated, county_admin)
    with pytest.raises(PayRunConflict, match="不能再修改"):
        services.payrun_calculate(run=approved, acting_user=county_admin)
    with pytest.raises(PayRunConflict, match="不能再修改"):
        services.payrun_delete(run=approved, acting_user=county_admin)
    paid = services.payrun_mark_paid(run=approved, acting_user=county_admin)
    assert paid.status == "paid" and paid.paid_at is not None
    with pytest.raises(PayRunConflict):
        services.payrun_mark_paid(run=paid, acting_user=county_admin)

    steps = list(AuditEntry.objects.filter(object_id=str(draft.pk), action__startswith="payrun.").order_by("id").values_list("action", "changes"))
    assert [(action, changes.get("status")) for action, changes in steps] == [
        ("payrun.create", None),
        ("payrun.calculate", ["draft", "calculated"]),
        ("payrun.approve", ["calculated", "approved"]),
        ("payrun.paid", ["approved", "paid"]),
    ]
    assert steps[1][1]["doctor_count"] == [0, 2]


def test_the_admin_shows_a_forbidden_step_as_a_chinese_message(policies, visits, county_admin, client):
    clinic_with_doctors(2)
    run = run_month(OCT, county_admin)
    client.force_login(county_admin)
    response = client.post(reverse("admin:payroll_payrun_changelist"), {"action": "mark_paid", "_selected_action": [run.pk]}, follow=True)
    assert "只有已审批的批次可以标记为已发放；该批次为已计算。" in response.content.decode()
    assert PayRun.objects.get(pk=run.pk).status == "calculated"


def test_scheme_saves_in_the_admin_go_through_the_audited_service(policies, county_admin, client):
    client.force_login(county_admin)
    scheme = InsuranceScheme.objects.get(code="employee")
    url = reverse("admin:payroll_insurancescheme_change", args=[scheme.pk])
    data = {"code": "employee", "name": scheme.name, "contribution_base": "3600.00", "employee_rate": "0.1050", "flat_amount": "",
            "medical_rate": "0.0200", "unemployment_rate": "0.0050", "is_demo": "on"}
    assert client.post(url, data).status_code == 302
    entry = AuditEntry.objects.get(action="scheme.update", object_id=str(scheme.pk))
    assert entry.actor == county_admin and entry.changes == {"contribution_base": ["3500.00", "3600.00"]}


def test_a_policy_version_cited_by_approved_payslips_is_refused_by_the_service(policies, visits, county_admin):
    from staffing.payroll.models import PayPolicy
    from staffing.payroll.services import pay_policy_save

    clinic_with_doctors(2)
    approve(run_month(OCT))
    policy = PayPolicy.objects.get(effective_from=datetime.date(2019, 7, 1))
    policy.notes = "改"
    with pytest.raises(Exception, match="新的版本|new version"):
        pay_policy_save(policy=policy, acting_user=county_admin)
    assert PayPolicy.objects.get(pk=policy.pk).notes != "改"


def test_the_monthly_chart_is_a_core_chart_with_its_data_table(policies, visits, county_admin, client):
    client.force_login(county_admin)
    empty = client.get(reverse("admin:payroll_payrun_changelist")).content.decode()
    assert gettext("No approved runs yet.") in empty and "payroll-monthly-title" not in empty
    clinic_with_doctors(2)
    approve(run_month(OCT))
    chart = exports.monthly_chart(monthly_component_totals(months=12))
    assert chart.categories == ["26-10"]
    assert [s.name for s in chart.series] == ["县级定额补助", "基本公共卫生服务补助", "基本药物制度补助"]
    assert chart.table == [["26-10", Decimal("2800.00"), Decimal("2200.00"), Decimal("1200.00")]]
    svg = str(chart.svg())
    assert svg.count("<rect") == 3 + 3  # three stacked bars and three legend keys
    assert "26-10 · 县级定额补助: 2,800.00" in svg
    body = client.get(reverse("admin:payroll_payrun_changelist")).content.decode()
    assert 'aria-labelledby="payroll-monthly-title"' in body and "<summary>数据表</summary>" in body
    assert '<th>26-10</th><td style="text-align:right">2,800.00</td>' in body
