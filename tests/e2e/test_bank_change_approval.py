"""The payroll officer approves a run that pays a doctor into a changed account: the approve step
names the doctor, the old and new account (masked) and who changed it, and approves only once the
officer ticks that the change was checked with the doctor."""

import pytest

from clinics.models import Role
from staffing.models import Doctor
from staffing.payroll import services
from staffing.payroll.models import PayRun
from staffing.payroll.seeding import seed_payroll
from staffing.services.doctors import doctor_update
from tests.e2e.conftest import follow, login, shot
from tests.factories import FacilityFactory, PostingFactory, TownshipFactory, make_user
from tests.payroll.conftest import OCT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_payroll_officer_approves_a_run_with_a_changed_account(live_server, browser):
    seed_payroll({})
    clinic = FacilityFactory(name="城南村卫生室", township=TownshipFactory(name="甘田镇", code="451028101"))
    doctor = PostingFactory(doctor__name="韦秀英", facility=clinic).doctor
    PostingFactory(doctor__name="黄志强", facility=clinic)
    clerk = make_user(Role.COUNTY_ADMIN, username="clerk")
    doctor_update(doctor=Doctor.objects.get(pk=doctor.pk), acting_user=clerk, bank_name="中国工商银行", bank_account="6222020000001234")
    officer = make_user(Role.PAYROLL_OFFICER, username="officer")
    run = services.payrun_calculate(run=services.payrun_create(month=OCT, acting_user=officer), acting_user=officer)

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, live_server.url, "officer")
    page.goto(f"{live_server.url}/admin/payroll/payrun/{run.pk}/approve/")
    rows = page.locator("#bank-changes tbody tr")
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "韦秀英" in row and "城南村卫生室" in row and "****1234" in row and "clerk" in row
    assert "6222020000001234" not in page.content()
    assert rows.first.locator("a").get_attribute("href") == f"/admin/staffing/doctor/{doctor.pk}/change/"
    shot(page, "payroll-bank-change-approval")

    # Without the box ticked the browser does not send the form; the run stays calculated.
    page.click("input[type=submit][class=default]")
    assert page.url.endswith(f"/payrun/{run.pk}/approve/")
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.CALCULATED

    page.check("#id_bank_changes_checked")
    follow(page, "input[type=submit][class=default]")
    assert page.url.endswith(f"/payrun/{run.pk}/change/")
    approved = PayRun.objects.get(pk=run.pk)
    assert approved.status == PayRun.Status.APPROVED and approved.bank_changes_acknowledged_by_id == officer.pk
    assert "****1234" in page.inner_text("body")
    shot(page, "payroll-bank-change-approved")
    context.close()
