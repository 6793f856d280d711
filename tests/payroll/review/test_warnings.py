"""Warnings grouped by kind with counts, each naming township, clinic and doctor with links; one
registry turns codes and params into sentences; unknown codes still read; blocking kinds refuse
approval; rendering 2,000 warnings issues a fixed number of queries."""

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from clinics.models import Role
from staffing.payroll import services
from staffing.payroll.models import PayRun, Payslip
from staffing.payroll.review import warnings as kinds
from staffing.payroll.review.grouping import review_warnings
from tests.factories import FacilityFactory, PostingFactory, TownshipFactory, clinic_with_doctors, make_user
from tests.payroll.conftest import OCT, run_month

pytestmark = pytest.mark.django_db


def test_a_registered_kind_renders_its_params_and_an_unknown_code_still_reads():
    with translation.override("en"):
        assert kinds.warning_sentence({"code": "licence_expired", "params": {"date": "2026-09-30"}}) == (
            "The practising licence expired on 2026-09-30.")
        assert kinds.warning_sentence({"code": "below_minimum", "params": {"gross": "2900", "minimum": "3000", "days": 31}}) == (
            "Gross pay 2,900.00 is below the guaranteed minimum 3,000.00 for 31 payable days.")
        # The stored message when the params do not fit; the kind's own sentence without params.
        assert kinds.warning_sentence({"code": "below_minimum", "params": {"x": 1}, "message": "低于保底"}) == "低于保底"
        assert kinds.warning_sentence({"code": "suspended"}) == "The doctor is suspended in the register."
        unknown = kinds.warning_sentence({"code": "tax_id_missing", "params": {"payable_days": 3, "ids": ["a", "b"]}})
        assert unknown == "Other warning (tax_id_missing)：payable days：3；ids：a、b"
        assert kinds.warning_sentence("plain text") == "plain text"


def test_a_new_kind_is_one_registration():
    try:
        kind = kinds.register_warning("test_bank_invalid", label="Bank account not valid", sentence="Account %(account)s fails its check.",
                                      severity=kinds.BLOCKING)
        assert kind.blocks_approval and kinds.warning_kind("test_bank_invalid") is kind
        assert kinds.warning_sentence({"code": "test_bank_invalid", "params": {"account": "****1234"}}) == "Account ****1234 fails its check."
        with pytest.raises(ValueError):
            kinds.register_warning("x", label="x", severity="fatal")
    finally:
        kinds.unregister_warning("test_bank_invalid")


def _run_with_warnings(visits):
    """Two clinics in two townships, no roster published: every doctor gets roster_unpublished;
    one doctor has no bank account."""
    first = FacilityFactory(name="城南村卫生室", township=TownshipFactory(name="甘田镇", code="451028101"))
    second = FacilityFactory(name="河口村卫生室", township=TownshipFactory(name="同乐镇", code="451028102"))
    doctors = [PostingFactory(facility=first, doctor__name=f"韦{i}").doctor for i in range(2)]
    doctors += [PostingFactory(facility=second, doctor__name="黄志强", doctor__bank_account="").doctor]
    return run_month(OCT), doctors, (first, second)


def test_grouped_by_kind_with_counts_and_links(policies, visits):
    run, doctors, (first, second) = _run_with_warnings(visits)
    review = review_warnings(run=run)
    by_code = {g.kind.code: g for g in review.groups}
    assert set(by_code) >= {"roster_unpublished", "no_bank_account", "no_settlements"}
    roster = by_code["roster_unpublished"]
    assert roster.count == 3 and roster.doctor_count == 3 and roster.clinic_count == 2
    assert len(roster.run_items) == 1  # the run-wide line, once, above the doctors
    rows = roster.rows
    assert [r.clinic for r in rows] == ["城南村卫生室", "河口村卫生室"] and [len(r.doctors) for r in rows] == [2, 1]
    no_bank = by_code["no_bank_account"].items[0]
    assert no_bank.doctor == "黄志强" and no_bank.clinic == "河口村卫生室" and no_bank.township == "同乐镇"
    slip = Payslip.objects.get(run=run, doctor=doctors[2])
    assert no_bank.doctor_url == reverse("admin:staffing_doctor_change", args=[doctors[2].pk])
    assert no_bank.clinic_url == reverse("admin:clinics_facility_change", args=[second.pk])
    assert no_bank.payslip_url == reverse("admin:payroll_payslip_change", args=[slip.pk])
    assert review.total == sum(g.count for g in review.groups)


def test_run_page_and_approval_page_show_groups_not_json(policies, visits, county_admin, client):
    run, doctors, _clinics = _run_with_warnings(visits)
    client.force_login(county_admin)
    for url in (reverse("admin:payroll_payrun_change", args=[run.pk]), reverse("admin:payroll_payrun_approve", args=[run.pk])):
        body = client.get(url).content.decode()
        assert 'data-code="roster_unpublished" data-count="3"' in body
        assert 'data-code="no_bank_account" data-count="1"' in body
        assert body.count(f'data-doctor="{doctors[2].pk}"') >= 2, "named in each group it belongs to"
        assert reverse("admin:clinics_facility_change", args=[_clinics[1].pk]) in body
        assert '"code"' not in body and "[{" not in body and "{&quot;" not in body
        assert "河口村卫生室" in body and "同乐镇" in body


def test_a_blocking_kind_refuses_approval_naming_the_doctor(policies, visits, county_admin, client):
    clinic, doctors = clinic_with_doctors(2)
    run = run_month(OCT)
    slip = Payslip.objects.get(run=run, doctor=doctors[0])
    slip.warnings = slip.warnings + [{"code": "test_blocking", "params": {"what": "身份证号缺失"}}]
    slip.save(update_fields=["warnings"])
    try:
        kinds.register_warning("test_blocking", label="Blocking test", sentence="Missing: %(what)s", severity=kinds.BLOCKING)
        with pytest.raises(ValidationError) as refused:
            services.payrun_approve(run=run, acting_user=county_admin, acknowledge_warnings=True)
        assert doctors[0].name in refused.value.messages[0]
        client.force_login(county_admin)
        page = client.get(reverse("admin:payroll_payrun_approve", args=[run.pk])).content.decode()
        assert 'data-code="test_blocking" data-count="1"' in page and "Missing: 身份证号缺失" in page
        assert 'class="default"' not in page  # no approve button while a blocking warning stands
        assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.CALCULATED
        kinds.register_warning("test_blocking", label="Blocking test", sentence="Missing: %(what)s", severity=kinds.WARNING)
        services.payrun_approve(run=run, acting_user=county_admin, acknowledge_warnings=True)
        assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.APPROVED
    finally:
        kinds.unregister_warning("test_blocking")


def _add_warnings(run, per_slip):
    """Give every payslip of `run` `per_slip` extra warnings of varied kinds (params differ)."""
    codes = ["below_minimum", "licence_expired", "tax_id_missing", "suspended"]
    slips = list(Payslip.objects.filter(run=run))
    for n, slip in enumerate(slips):
        slip.warnings = slip.warnings + [
            {"code": codes[i % 4], "params": {"gross": f"{2900 + n}", "minimum": "3000", "days": 30, "date": "2026-09-30"}}
            for i in range(per_slip)
        ]
    Payslip.objects.bulk_update(slips, ["warnings"])


def test_rendering_2000_warnings_is_query_flat(policies, visits, county_admin, client):
    for _ in range(10):
        clinic_with_doctors(2)
    run = run_month(OCT)
    client.force_login(county_admin)
    url = reverse("admin:payroll_payrun_approve", args=[run.pk])

    def count(per_slip):
        _add_warnings(run, per_slip)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        return len(queries), body

    few, _body = count(1)
    many, body = count(99)  # 20 doctors × (1 + 1 + 99) ≈ 2,000 warnings
    review = review_warnings(run=run)
    assert review.total >= 2000
    assert many == few, f"{few} queries for ~40 warnings, {many} for {review.total}"
    assert "2,9" in body  # gross amounts in the one money format
    assert "{" not in json.dumps([g.kind.label for g in review.groups], default=str).strip("[]")


def test_township_admin_sees_only_his_runs_warnings(policies, visits, roles, client):
    first = FacilityFactory(township=TownshipFactory(name="甘田镇", code="451028101"))
    PostingFactory(facility=first)
    run = run_month(OCT)
    admin_user = make_user(Role.TOWNSHIP_ADMIN, township=first.township)
    client.force_login(admin_user)
    # A county-wide run is not his: its page (and its warnings) are not shown to him.
    assert client.get(reverse("admin:payroll_payrun_approve", args=[run.pk])).status_code == 404
    assert datetime.date(2026, 10, 1) == run.month


def test_run_list_counts_run_and_doctor_warnings_in_one_query(policies, visits, county_admin, client):
    from staffing.payroll.review.display import doctors_warned_count

    clinic_with_doctors(3)
    run = run_month(OCT)
    annotated = PayRun.objects.annotate(doctors_warned=doctors_warned_count()).get(pk=run.pk)
    assert annotated.doctors_warned == Payslip.objects.filter(run=run).exclude(warnings=[]).count() == 3
    client.force_login(county_admin)
    with translation.override("en"):
        body = client.get(reverse("admin:payroll_payrun_changelist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "3 doctors" in body or "医生 3 名" in body
