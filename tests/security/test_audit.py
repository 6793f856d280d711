"""The audit trail: every service that writes doctors, postings, rosters and amendments, leave,
pay policies, pay runs and payslips, settlement imports, reconciliations and consults leaves
AuditEntry rows naming the actor — bulk writes too — and the admin "history" of each object shows
them."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client, RequestFactory
from django.urls import reverse

from clinics.settlements.models import Reconciliation
from clinics.settlements.services import answer_record, reconciliation_compute
from core.admin import AuditHistoryMixin
from core.models import AuditEntry
from staffing.payroll.models import PayPolicy
from staffing.rosters.models import RosterAmendment, RosterMonth
from staffing.rosters.services.generation import roster_generate
from staffing.rosters.services.holidays import holiday_year_load
from staffing.rosters.services.leave import leave_decide
from staffing.rosters.services.publishing import roster_publish
from staffing.services import doctors, postings
from telemedicine.services import bookings as tele_services
from tests.factories import FacilityFactory

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"clinics", "settlements", "staffing", "rosters", "payroll", "telemedicine", "notifications"}


def entries(target, **filters):
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(type(target)), object_id=str(target.pk), **filters
    )


def test_doctor_and_posting_changes_name_their_author(world):
    a, _b, users, _ = world
    county = users["county_admin"]
    doctor = doctors.doctor_update(doctor=a.doctors[1], acting_user=county, mobile="13907760000")
    assert entries(doctor, action="doctor.update", actor=county).get().changes["mobile"][1] == "13907760000"

    other = FacilityFactory(township=a.township)
    new = postings.posting_move(doctor=doctor, facility=other, start_date=datetime.date(2026, 11, 1), acting_user=county)
    assert entries(new, actor=county).exists()
    old = doctor.postings.exclude(pk=new.pk).get()
    assert entries(old, action="posting.close", actor=county).exists()


def test_roster_generation_publication_leave_and_amendments_are_audited(world):
    a, _b, users, _ = world
    admin_a = users["township_admin"]
    holiday_year_load(year=2026)
    month = datetime.date(2026, 12, 1)
    roster_generate(month=month, facility=a.clinic, township=None, acting_user=admin_a)
    roster = RosterMonth.objects.get(facility=a.clinic, month=month)
    assert entries(roster, actor=admin_a).exists()

    assert roster_publish(month=month, township=a.township, acting_user=admin_a) == 1
    assert entries(roster, action="roster.publish", actor=admin_a).exists()  # a queryset update, audited per roster

    assert entries(a.leave, actor=users["village_doctor"]).exists()  # the doctor asked
    leave_decide(leave=a.leave, approve=True, acting_user=admin_a)
    assert entries(a.leave, action="leave.decide", actor=admin_a).exists()
    amendments = RosterAmendment.objects.filter(roster=roster)
    assert amendments.exists()
    amended = entries(roster, action__startswith="roster.amend.", actor=admin_a)
    assert amended.count() == amendments.count()
    assert {e.changes["date"] for e in amended} == {str(d) for d in amendments.values_list("date", flat=True)}


def test_pay_policy_runs_and_payslips_are_audited(world):
    a, _b, users, _ = world
    payroll = users["payroll_officer"]
    run = a.payslip.run
    for action in ("payrun.create", "payrun.calculate", "payrun.approve"):
        assert entries(run, action=action, actor=payroll).exists(), action
    slip_entry = entries(a.payslip, action="payslip.calculate", actor=payroll).get()  # bulk-created slips, one entry each
    # Named as the payslip names itself, though the run writes its entries without instances.
    assert slip_entry.object_repr == str(a.payslip) and slip_entry.changes == {"run": run.pk}
    assert slip_entry.at is not None and slip_entry.reason

    county = users["county_admin"]
    policy = PayPolicy.objects.order_by("pk").first()
    model_admin = admin.site._registry[PayPolicy]
    request = RequestFactory().post("/")
    request.user = county
    form_class = model_admin.get_form(request, policy, change=True)
    bound = form_class(instance=policy)
    data = {name: bound[name].value() for name in bound.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data["notes"] = "县财政局 2026 文件"
    form = form_class(data, instance=policy)
    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    entry = entries(policy, action="pay_policy.update", actor=county).get()
    assert entry.changes["notes"][1] == "县财政局 2026 文件"


def test_settlement_import_and_reconciliation_are_audited(world):
    a, b, users, _ = world
    from clinics.settlements.models import SettlementImport

    batch = SettlementImport.objects.filter(facility=a.clinic).get()
    assert entries(batch, action="settlement.import", actor=users["api_client"]).get().changes["accepted"] == 2

    clerk = users["insurance_clerk"]
    results = reconciliation_compute(begin=datetime.date(2026, 10, 1), end=datetime.date(2026, 10, 31),
                                     acting_user=clerk)
    assert len(results) == 2
    for result in Reconciliation.objects.all():
        assert entries(result, action="settlement.reconciliation_compute", actor=clerk).exists()
    line = results[0].totals.first()
    answer_record(line=line, stmt_rslt="0", acting_user=clerk)
    assert entries(results[0], action="settlement.reconciliation_answer", actor=clerk).exists()


def test_consult_booking_and_its_transitions_are_audited(world):
    a, _b, users, _ = world
    booking = a.booking
    assert entries(booking, actor=users["village_doctor"]).exists()
    tele_services.booking_confirm(booking=booking, acting_user=users["consultant"])
    assert entries(booking, actor=users["consultant"]).exists()


def test_admin_bulk_delete_is_audited_row_by_row(world):
    a, _b, users, _ = world
    from clinics.models import Department

    departments = [Department.objects.create(facility=a.clinic, name=f"科室{i}", code=f"K{i}") for i in range(3)]
    browser = Client()
    browser.force_login(users["county_admin"])
    response = browser.post(
        reverse("admin:clinics_department_changelist"),
        {"action": "delete_selected", "_selected_action": [d.pk for d in departments], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Department.objects.filter(pk__in=[d.pk for d in departments]).exists()
    for department in departments:
        assert entries(department, action="admin.delete", actor=users["county_admin"]).exists()


def test_history_page_shows_the_objects_audit_trail(world):
    a, _b, users, _ = world
    county = users["county_admin"]
    doctors.doctor_update(doctor=a.doctors[0], acting_user=county, mobile="13907761111")
    browser = Client()
    browser.force_login(county)
    page = browser.get(reverse("admin:staffing_doctor_history", args=[a.doctors[0].pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "doctor.update" in text and county.username in text


def test_every_admin_of_the_project_shows_the_audit_trail():
    missing = [
        f"{model._meta.label}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in PROJECT_APPS and not isinstance(model_admin, AuditHistoryMixin)
    ]
    assert not missing, "admins without AuditHistoryMixin:\n" + "\n".join(missing)
