"""Entries for earlier months are never silently dropped: each is counted by its month's run,
paid as an adjustment by the next run, or refused at entry with a message naming the window."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from staffing.payroll import services
from staffing.payroll.models import Assessment, OneOffItem, PayRun, Payslip
from staffing.payroll.services.inputs import NO_RUN, OUTSIDE_WINDOW
from tests.factories import PostingFactory
from tests.payroll.conftest import NOV, OCT, approve, run_month

pytestmark = pytest.mark.django_db

JUN, JUL, AUG, SEP = (datetime.date(2026, m, 1) for m in (6, 7, 8, 9))


def _codes(exc: ValidationError) -> set[str]:
    return {e.code for errors in exc.error_dict.values() for e in errors}


def test_an_assessment_for_an_open_month_is_counted_by_its_run(policies, visits):
    doctor = PostingFactory().doctor
    saved = services.assessment_save(assessment=Assessment(doctor=doctor, period_start=OCT, score=Decimal("95")), acting_user=None)
    assert saved.pay_path.kind == "counted"
    slip = Payslip.objects.get(run=run_month(OCT), doctor=doctor)
    line = slip.lines.get(component="performance")
    assert (line.amount, line.reference_month) == (Decimal("300.00"), OCT)


def test_an_assessment_for_a_paid_month_inside_the_window_is_an_adjustment_in_the_next_run(policies, visits):
    doctor = PostingFactory().doctor
    run = approve(run_month(OCT))
    services.payrun_mark_paid(run=run, acting_user=None)
    saved = services.assessment_save(assessment=Assessment(doctor=doctor, period_start=OCT, score=Decimal("92")), acting_user=None)
    assert (saved.pay_path.kind, saved.pay_path.next_run) == ("adjustment", NOV)
    assert "2026-11" in services.inputs.pay_path_message(saved.pay_path)
    slip = Payslip.objects.get(run=run_month(NOV), doctor=doctor)
    correction = slip.lines.get(component="performance", reference_month=OCT)
    assert correction.amount == Decimal("300.00") and correction.kind == "earning"
    assert correction.source["correction_of"] == "2026-10"


def test_an_assessment_older_than_the_window_is_refused_naming_the_window_and_the_month(policies, settings):
    settings.PAYROLL_CORRECTION_MONTHS = 3
    doctor = PostingFactory().doctor
    for month in (JUN, JUL, AUG, SEP, OCT):
        PayRun.objects.create(month=month, status=PayRun.Status.PAID)
    with pytest.raises(ValidationError) as exc:
        services.assessment_save(assessment=Assessment(doctor=doctor, period_start=JUL, score=Decimal("80")), acting_user=None)
    assert _codes(exc.value) == {OUTSIDE_WINDOW}
    text = " ".join(exc.value.messages)
    assert "2026-07" in text and "2026-08" in text and "2026-10" in text and "2026-11" in text
    assert not Assessment.objects.exists()


def test_an_assessment_for_a_month_that_had_no_run_is_refused(policies):
    doctor = PostingFactory().doctor
    for month in (SEP, OCT):
        PayRun.objects.create(month=month, status=PayRun.Status.APPROVED)
    with pytest.raises(ValidationError) as exc:
        services.assessment_save(assessment=Assessment(doctor=doctor, period_start=AUG, score=Decimal("80")), acting_user=None)
    assert _codes(exc.value) == {NO_RUN}
    assert "2026-08" in exc.value.messages[0] and "2026-11" in exc.value.messages[0]


def test_an_assessment_for_a_doctor_not_paid_in_that_run_is_refused(policies, visits):
    approve(run_month(OCT))
    newcomer = PostingFactory(doctor__hire_date=NOV, start_date=NOV).doctor
    with pytest.raises(ValidationError) as exc:
        services.assessment_save(assessment=Assessment(doctor=newcomer, period_start=OCT, score=Decimal("80")), acting_user=None)
    assert _codes(exc.value) == {NO_RUN}


def test_one_off_items_are_counted_or_refused(policies):
    doctor = PostingFactory().doctor
    for month in (SEP, OCT):
        PayRun.objects.create(month=month, status=PayRun.Status.APPROVED)
    item = lambda month: OneOffItem(doctor=doctor, month=month, kind="bonus", amount=Decimal("100"), description="奖励")  # noqa: E731
    with pytest.raises(ValidationError) as locked:
        services.one_off_item_save(item=item(OCT), acting_user=None)
    assert _codes(locked.value) == {"month_locked"}
    with pytest.raises(ValidationError) as no_run:
        services.one_off_item_save(item=item(AUG), acting_user=None)
    assert _codes(no_run.value) == {NO_RUN}
    services.one_off_item_save(item=item(NOV), acting_user=None)
    assert list(OneOffItem.objects.values_list("month", flat=True)) == [NOV]


def test_the_admin_form_refuses_an_assessment_outside_the_window_and_keeps_the_form(policies, client, county_admin):
    doctor = PostingFactory().doctor
    for month in (JUN, JUL, AUG, SEP, OCT):
        PayRun.objects.create(month=month, status=PayRun.Status.PAID)
    client.force_login(county_admin)
    response = client.post(reverse("admin:payroll_assessment_add"),
                           {"doctor": doctor.pk, "period": "month", "period_start": "2026-06-01", "score": "88", "note": ""})
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors and {e.code for e in form.errors.as_data()["period_start"]} == {OUTSIDE_WINDOW}
    assert not Assessment.objects.exists()
    # Inside the window and for a paid month: saved, and the officer is told a later run corrects it.
    response = client.post(reverse("admin:payroll_assessment_add"),
                           {"doctor": doctor.pk, "period": "month", "period_start": "2026-11-01", "score": "88", "note": ""})
    assert response.status_code == 302 and Assessment.objects.count() == 1


def test_the_admin_form_refuses_a_one_off_item_for_an_approved_month(policies, client, county_admin):
    doctor = PostingFactory().doctor
    PayRun.objects.create(month=OCT, status=PayRun.Status.APPROVED)
    client.force_login(county_admin)
    response = client.post(reverse("admin:payroll_oneoffitem_add"), {
        "doctor": doctor.pk, "month": "2026-10-01", "kind": "bonus", "amount": "100", "description": "奖励", "tax_method": "auto"})
    assert response.status_code == 200
    assert "month" in response.context["adminform"].form.errors
    assert not OneOffItem.objects.exists()


def test_the_api_refuses_outside_the_window_and_says_when_an_adjustment_pays(policies, visits, roles):
    from tests.conftest import api_as
    from tests.factories import make_user

    doctor = PostingFactory().doctor
    officer = make_user("payroll_officer")
    client = api_as(officer)
    for month in (JUN, JUL, AUG, SEP):
        PayRun.objects.create(month=month, status=PayRun.Status.PAID)
    services.payrun_mark_paid(run=approve(run_month(OCT)), acting_user=None)
    url = reverse("api:assessment-list")
    refused = client.post(url, {"doctor_id": doctor.pk, "period": "month", "period_start": "2026-07-01", "score": "85"}, format="json")
    assert refused.status_code == 400 and "period_start" in refused.json()["fields"]
    assert "2026-07" in refused.json()["fields"]["period_start"][0] and "2026-08" in refused.json()["fields"]["period_start"][0]
    adjusted = client.post(url, {"doctor_id": doctor.pk, "period": "month", "period_start": "2026-10-01", "score": "95"}, format="json")
    assert adjusted.status_code == 201, adjusted.json()
    assert (adjusted.json()["pay_path"], adjusted.json()["paid_by_run"]) == ("adjustment", "2026-11")
    counted = client.post(reverse("api:one-off-item-list"), {"doctor_id": doctor.pk, "month": "2026-11-01", "kind": "bonus", "amount": "100",
                                                             "description": "奖励"}, format="json")
    assert counted.status_code == 201 and counted.json()["pay_path"] == "counted"
    locked = client.post(reverse("api:one-off-item-list"), {"doctor_id": doctor.pk, "month": "2026-10-01", "kind": "bonus", "amount": "100",
                                                            "description": "奖励"}, format="json")
    assert locked.status_code == 400 and "month" in locked.json()["fields"]
    assert OneOffItem.objects.count() == 1 and Assessment.objects.count() == 1
    # A township admin has no access to these entries.
    township_admin = make_user("township_admin", township=doctor.postings.first().facility.township)
    assert api_as(township_admin).post(url, {"doctor_id": doctor.pk, "period": "month", "period_start": "2026-11-01", "score": "85"},
                                       format="json").status_code == 403


def test_the_entry_api_lists_have_a_flat_query_count(policies, roles, django_assert_max_num_queries):
    from tests.conftest import api_as
    from tests.factories import make_user

    client = api_as(make_user("payroll_officer"))
    for _n in range(2):
        Assessment.objects.create(doctor=PostingFactory().doctor, period_start=NOV, score=Decimal("80"))
    with django_assert_max_num_queries(10) as small:
        assert client.get(reverse("api:assessment-list")).status_code == 200
    for _n in range(20):
        Assessment.objects.create(doctor=PostingFactory().doctor, period_start=NOV, score=Decimal("80"))
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("api:assessment-list"))
    assert response.json()["count"] == 22
