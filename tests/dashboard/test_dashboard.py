"""The admin index is the bureau's dashboard: scoped, linked, charted, and with a flat query count."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from clinics.models import Role
from clinics.settlements.services import settlements_import
from staffing.payroll.models import PayRun, Payslip, PayslipLine
from staffing.rosters.models import CoverageGap, DecisionStatus, DutyDay, LeaveRequest, RosterMonth
from telemedicine.models import ConsultBooking
from tests.factories import TownshipFactory, clinic_with_doctors, make_user
from tests.settlements.helpers import row
from tests.telemedicine.factories import ConsultantFactory, make_slot

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 10, 12)


@pytest.fixture(autouse=True)
def frozen_today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 10, 12, 18, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))))


def populate(township, n, *, consultant, run, offset=0):
    """n clinics of `township`, each with a full month's worth of the things the panels count."""
    rows = []
    for i in range(n):
        clinic, doctors = clinic_with_doctors(2, township=township)
        roster = RosterMonth.objects.create(facility=clinic, month=TODAY.replace(day=1), status=RosterMonth.Status.PUBLISHED)
        DutyDay.objects.create(roster=roster, facility=clinic, doctor=doctors[0], date=datetime.date(2026, 10, 3),
                               duty=DutyDay.Duty.ON_CALL, day_kind="holiday")
        DutyDay.objects.create(roster=roster, facility=clinic, doctor=doctors[1], date=datetime.date(2026, 10, 17),
                               duty=DutyDay.Duty.ON_CALL, day_kind="weekend")
        CoverageGap.objects.create(roster=roster, facility=clinic, date=TODAY + datetime.timedelta(days=5), day_kind="weekend")
        LeaveRequest.objects.create(doctor=doctors[0], facility=clinic, kind="annual", start_date=TODAY, end_date=TODAY,
                                    reason="家事", status=DecisionStatus.PENDING)
        rows.append((i + 2, row(clinic, offset + i + 1)))
        k = offset // 100 * 20 + i
        slot = make_slot(consultant, TODAY, hour=8 + k % 10, minute=(k // 10) % 3 * 20)
        ConsultBooking.objects.create(
            slot=slot, consultant=consultant, department=consultant.department, facility=clinic, doctor=doctors[0],
            patient_name="韦小兰", patient_sex="F", patient_age=56, patient_key=f"k{offset}-{i}", chief_complaint="头晕",
            mode="phone", status=ConsultBooking.Status.COMPLETED, starts_at=slot.starts_at, ends_at=slot.ends_at,
            room_token=f"t{offset}-{i}",
        )
        slip = Payslip.objects.create(run=run, doctor=doctors[0], month=run.month, facility=clinic, township=township,
                                      payable_days=30, days_in_month=30, gross=Decimal("3500"), deductions=Decimal("0"),
                                      net=Decimal("3500"))
        PayslipLine.objects.create(payslip=slip, component="fixed_subsidy", kind="earning", description="县级补助",
                                   quantity=Decimal("1"), rate=Decimal("1400"), amount=Decimal("1400.00"),
                                   reference_month=run.month)
    settlements_import(source="api", rows=rows)


@pytest.fixture
def world(roles):
    township = TownshipFactory(name="同乐镇", code="451028100")
    other = TownshipFactory(name="甘田镇", code="451028101")
    consultant = ConsultantFactory()
    run = PayRun.objects.create(month=datetime.date(2026, 9, 1), status=PayRun.Status.CALCULATED)
    return {"township": township, "other": other, "consultant": consultant, "run": run}


def test_county_admin_sees_every_panel_and_chart_in_chinese(client, world):
    populate(world["township"], 2, consultant=world["consultant"], run=world["run"])
    populate(world["other"], 1, consultant=world["consultant"], run=world["run"], offset=100)
    client.force_login(make_user(Role.COUNTY_ADMIN))

    page = client.get(reverse("admin:index")).content.decode()

    for panel in ["panel-staffing", "panel-duty", "panel-teleconsult", "panel-payroll", "panel-settlements", "panel-notifications"]:
        assert f'id="{panel}"' in page
    for chart in ["chart-payroll", "chart-settlements", "chart-teleconsults", "chart-oncall"]:
        assert f'id="{chart}"' in page
    assert page.count("<svg") >= 4 and "数据表" in page
    assert "未来 30 天的排班缺口" in page
    assert 'href="/admin/rosters/coveragegap/?status__exact=open"' in page
    assert "同乐镇" in page and "甘田镇" in page
    assert "县级固定补助" in page or "County fixed subsidy" not in page


def test_township_admin_sees_only_own_township(client, world):
    populate(world["township"], 2, consultant=world["consultant"], run=world["run"])
    populate(world["other"], 3, consultant=world["consultant"], run=world["run"], offset=100)
    admin = make_user(Role.TOWNSHIP_ADMIN, township=world["township"])
    client.force_login(admin)

    response = client.get(reverse("admin:index"))
    dashboard = response.context["dashboard"]

    assert dashboard["duty"]["gap_count"] == 2
    assert dashboard["duty"]["pending_leave"] == 2
    assert dashboard["settlements"]["visits_total"] == 2
    assert [r["facility__township__name"] for r in dashboard["settlements"]["by_township"]] == ["同乐镇"]
    assert dashboard["notifications"] is None
    assert "甘田镇" not in response.content.decode()


def test_query_count_does_not_grow_with_clinics(client, world, django_assert_max_num_queries):
    client.force_login(make_user(Role.COUNTY_ADMIN))
    populate(world["township"], 2, consultant=world["consultant"], run=world["run"])
    with django_assert_max_num_queries(60) as small:
        client.get(reverse("admin:index"))
    populate(world["other"], 8, consultant=world["consultant"], run=world["run"], offset=100)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("admin:index"))


def test_oncall_chart_counts_weekend_and_holiday_apart(client, world):
    populate(world["township"], 1, consultant=world["consultant"], run=world["run"])
    client.force_login(make_user(Role.COUNTY_ADMIN))
    chart = client.get(reverse("admin:index")).context["dashboard"]["charts"][3]
    assert [s.values for s in chart.series] == [[0, 1], [1, 0]]


def test_village_doctor_gets_no_dashboard(client, world):
    clinic, doctors = clinic_with_doctors(1, township=world["township"])
    client.force_login(make_user(Role.VILLAGE_DOCTOR, doctor=doctors[0]))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302  # not staff: sent to the admin login
