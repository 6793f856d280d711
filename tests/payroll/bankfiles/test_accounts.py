"""Accounts the bank file cannot pay block the run's approval, naming the doctor and clinic,
unless the payroll officer marks the payslip paid outside the file (reason, who, when; audited)."""

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from clinics.models import Role
from core.models import AuditEntry
from staffing.models import Doctor
from staffing.payroll.bankfiles import accounts
from staffing.payroll.bankfiles.checks import ACCOUNT_CODES, FORMAT_MISSING, PAID_OUTSIDE
from staffing.payroll.bankfiles.services import (
    bank_export_build,
    paying_bank_save,
    payment_outside_file_mark,
    payment_outside_file_unmark,
)
from staffing.payroll.models import BankFileFormat, PayingBank, PaymentOutsideFile, PayRun, Payslip
from staffing.payroll.review.warnings import BLOCKING, INFO, warning_kind
from tests.factories import make_user
from tests.payroll.bankfiles.conftest import approve, calculated_october

pytestmark = pytest.mark.django_db


def _luhn_card(prefix: str, length: int) -> str:
    body = prefix.ljust(length - 1, "0")
    for check in "0123456789":
        if accounts.luhn_valid(body + check):
            return body + check
    raise AssertionError


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        ("", accounts.MISSING), ("   ", accounts.MISSING), ("6230 0000 0000 0001", accounts.NOT_DIGITS),
        ("６２３０００００００００００１", accounts.NOT_DIGITS), ("62300000000X0001", accounts.NOT_DIGITS),
        ("12345678901", accounts.LENGTH), ("1" * 31, accounts.LENGTH), ("123456789012", None), ("6230000000000000001", None),
        ("0" * 30, None),
    ],
)
def test_account_rule(account, problem):
    assert accounts.account_problem(account) == problem


def test_unionpay_check_digit_only_when_the_setting_asks(settings):
    good, bad = _luhn_card("6228480", 19), _luhn_card("6228480", 19)[:-1] + "0"
    if accounts.luhn_valid(bad):
        bad = bad[:-1] + "1"
    settings.PAYROLL_BANK_CARD_LUHN = False
    assert accounts.account_problem(bad) is None
    settings.PAYROLL_BANK_CARD_LUHN = True
    assert accounts.account_problem(good) is None
    assert accounts.account_problem(bad) == accounts.CARD_CHECK
    assert accounts.account_problem("1" + bad[1:]) is None  # not a UnionPay card (62…): no check digit rule
    assert accounts.luhn_valid("79927398713") and not accounts.luhn_valid("79927398710")


@pytest.fixture
def two_bad(demo):
    """The October run with one doctor without an account and one whose account has a space."""
    empty, spaced = Doctor.objects.filter(bank_name="中国农业银行").order_by("pk")[:2]
    Doctor.objects.filter(pk=empty.pk).update(bank_account="")
    Doctor.objects.filter(pk=spaced.pk).update(bank_account="6230 000000000000001")
    return calculated_october(), Doctor.objects.get(pk=empty.pk), Doctor.objects.get(pk=spaced.pk)


def _codes(run, doctor):
    return [w["code"] for w in Payslip.objects.get(run=run, doctor=doctor).warnings]


def test_invalid_accounts_block_approval_naming_doctor_and_clinic(two_bad, county_admin):
    run, empty, spaced = two_bad
    assert ACCOUNT_CODES[accounts.MISSING] in _codes(run, empty)
    assert ACCOUNT_CODES[accounts.NOT_DIGITS] in _codes(run, spaced)
    assert warning_kind(ACCOUNT_CODES[accounts.NOT_DIGITS]).severity == BLOCKING
    slip = Payslip.objects.get(run=run, doctor=spaced)
    warning = next(w for w in slip.warnings if w["code"] == "bank_account_not_digits")
    assert warning["params"]["account"].endswith("0001") and "6230 0000" not in str(warning)  # masked
    with pytest.raises(ValidationError) as refused:
        approve(run, county_admin)
    text = " ".join(refused.value.messages)
    assert empty.name in text and spaced.name in text
    assert PayRun.objects.get(pk=run.pk).status == PayRun.Status.CALCULATED
    # The review groups them with the clinic of each doctor.
    from staffing.payroll.review.grouping import review_warnings

    review = review_warnings(run=run)
    group = next(g for g in review.blocking if g.kind.code == "bank_account_not_digits")
    assert [(i.doctor_id, i.facility_id) for i in group.items] == [(spaced.pk, slip.facility_id)] and group.items[0].clinic


def test_paid_outside_the_file_unblocks_and_is_recorded_audited_and_on_the_control_sheet(two_bad, county_admin):
    run, empty, spaced = two_bad
    with pytest.raises(ValidationError):
        payment_outside_file_mark(run=run, doctor=empty, reason="  ", acting_user=county_admin)
    payment_outside_file_mark(run=run, doctor=empty, reason="乡镇卫生院现金发放", acting_user=county_admin)
    assert "bank_account_missing" not in _codes(run, empty)
    assert PAID_OUTSIDE in _codes(run, empty) and warning_kind(PAID_OUTSIDE).severity == INFO
    with pytest.raises(ValidationError) as still:
        approve(run, county_admin)
    assert spaced.name in " ".join(still.value.messages) and empty.name not in " ".join(still.value.messages)
    mark = payment_outside_file_mark(run=run, doctor=spaced, reason="账号待核实，转账另行办理", acting_user=county_admin)
    assert mark.marked_by == county_admin and mark.marked_at is not None
    entry = AuditEntry.objects.get(action="payslip.paid_outside_file", object_id=str(Payslip.objects.get(run=run, doctor=spaced).pk))
    assert entry.actor == county_admin and entry.reason == "账号待核实，转账另行办理"
    # Recalculating keeps the marks (they are per run and doctor, not on the rewritten payslip).
    run = calculated_october(county_admin)
    assert PAID_OUTSIDE in _codes(run, spaced)
    run = approve(run, county_admin)
    assert run.status == PayRun.Status.APPROVED
    with pytest.raises(ValidationError):  # an approved run's marks are frozen
        payment_outside_file_unmark(mark=mark, acting_user=county_admin)
    export = bank_export_build(runs=[run], acting_user=county_admin)
    paid = {p.doctor_id for f in export.files for p in f.payees}
    assert empty.pk not in paid and spaced.pk not in paid and len(paid) == run.doctor_count - 2
    outside = sum(Payslip.objects.filter(run=run, doctor__in=[empty, spaced]).values_list("net", flat=True))
    assert sum(f.total for f in export.files) == run.net_total - outside
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(export.control)).active.iter_rows()]
    reconciled = next(r for r in rows if r[0] == str(run))
    assert [Decimal(str(v)) for v in reconciled[2:6]] == [run.net_total, run.net_total - outside, outside, Decimal("0")]
    listed = [r for r in rows if r[0] in (str(empty), str(spaced))]
    assert {r[5] for r in listed} == {"乡镇卫生院现金发放", "账号待核实，转账另行办理"}
    assert all("6230 0000" not in str(v) for r in listed for v in r)  # accounts masked on the control sheet


def test_marking_checks_reach(two_bad, roles):
    run, empty, _spaced = two_bad
    slip = Payslip.objects.get(run=run, doctor=empty)
    other = make_user(Role.TOWNSHIP_ADMIN, township=type(slip.township).objects.exclude(pk=slip.township_id).first())
    with pytest.raises(ValidationError):
        payment_outside_file_mark(run=run, doctor=empty, reason="越权", acting_user=other)
    assert not PaymentOutsideFile.objects.exists()


def test_a_bank_without_a_format_blocks_until_one_is_assigned(demo, county_admin):
    PayingBank.objects.filter(bank_name="中国邮政储蓄银行").update(file_format=None)
    run = calculated_october()
    postal = Payslip.objects.filter(run=run, bank_name="中国邮政储蓄银行")
    assert postal.exists() and all(FORMAT_MISSING in [w["code"] for w in s.warnings] for s in postal)
    with pytest.raises(ValidationError):
        approve(run, county_admin)
    bank = PayingBank.objects.get(bank_name="中国邮政储蓄银行")
    bank.file_format = BankFileFormat.objects.get(code="EBANK")
    paying_bank_save(bank=bank, acting_user=county_admin)  # refreshes the open runs' warnings
    assert not any(FORMAT_MISSING in [w["code"] for w in s.warnings] for s in Payslip.objects.filter(run=run))
    assert approve(run, county_admin).status == PayRun.Status.APPROVED
    assert AuditEntry.objects.filter(action="payingbank.update").exists()


def test_a_bank_unknown_to_the_paying_banks_blocks(demo, county_admin):
    doctor = Doctor.objects.order_by("pk").first()
    Doctor.objects.filter(pk=doctor.pk).update(bank_name="某某村镇银行")
    run = calculated_october()
    slip = Payslip.objects.get(run=run, doctor=doctor)
    assert {"code": FORMAT_MISSING, "params": {"bank": "某某村镇银行"}}.items() <= next(
        w for w in slip.warnings if w["code"] == FORMAT_MISSING).items()
    with pytest.raises(ValidationError) as refused:
        approve(run, county_admin)
    assert doctor.name in " ".join(refused.value.messages)
