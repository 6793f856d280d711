"""`load_seeds` builds the demo as of the day it runs: last and this month's rosters published,
settlements up to yesterday, last month's pay run paid with duty allowances and consultation
fees, leave and consults around the day; the same day again changes nothing, a later day tops up."""

import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Count, Min, Sum

from clinics.settlements.models import SettlementKey, SettlementRecord
from core.models import AuditEntry
from staffing.models import Doctor
from staffing.payroll.models import PayRun, Payslip, PayslipLine
from staffing.rosters.models import DutyDay, LeaveRequest, RosterMonth
from telemedicine.models import ConsultBooking, Slot

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
D = datetime.date


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed_on(day: datetime.date, *args: str) -> str:
    out = io.StringIO()
    with time_machine.travel(datetime.datetime.combine(day, datetime.time(9, 30), tzinfo=SHANGHAI), tick=False):
        call_command("load_seeds", "--quiet-logins", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "rosters": sorted(RosterMonth.objects.values_list("month", "status").annotate(n=Count("id"))),
        "duties": DutyDay.objects.count(),
        "settlements": SettlementRecord.objects.count(),
        "keys": SettlementKey.objects.count(),
        "pay runs": sorted(PayRun.objects.values_list("month", "status", "net_total")),
        "payslips": Payslip.objects.count(),
        "lines": PayslipLine.objects.count(),
        "leave": sorted(LeaveRequest.objects.values_list("doctor_id", "start_date", "status")),
        "consults": sorted(ConsultBooking.objects.values_list("consultant_id", "starts_at", "status")),
        "slots": Slot.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def local_days() -> set[datetime.date]:
    return {dt.astimezone(SHANGHAI).date() for dt in SettlementRecord.objects.values_list("settled_at", flat=True).iterator()}


def duty_pay_is_paid_for(month: datetime.date) -> None:
    """Every doctor with weekend or holiday duty in the month got a duty allowance, every doctor
    named on the month's settlements a consultation fee, on the month's paid run."""
    run = PayRun.objects.get(month=month)
    assert run.status == PayRun.Status.PAID and run.paid_at is not None
    end = D(month.year + month.month // 12, month.month % 12 + 1, 1)
    on_duty = set(DutyDay.objects.filter(date__gte=month, date__lt=end, day_kind__in=["weekend", "holiday"])
                  .values_list("doctor_id", flat=True))
    codes = set(SettlementRecord.objects.filter(settled_at__date__gte=month, settled_at__date__lt=end)
                .values_list("atddr_no", flat=True))
    consulting = set(Doctor.objects.filter(insurance_code__in=codes).values_list("pk", flat=True))
    assert len(on_duty) > 150 and len(consulting) > 150
    lines = PayslipLine.objects.filter(payslip__run=run)
    duty = dict(lines.filter(component__in=["duty_weekend", "duty_holiday"]).values_list("payslip__doctor_id")
                .annotate(total=Sum("amount")))
    fee = dict(lines.filter(component="consultation_fee").values_list("payslip__doctor_id").annotate(total=Sum("amount")))
    assert all(duty.get(doctor, 0) > 0 for doctor in on_duty), [d for d in on_duty if not duty.get(d)]
    assert all(fee.get(doctor, 0) > 0 for doctor in consulting), [d for d in consulting if not fee.get(d)]


def test_the_demo_lives_in_the_present_and_tops_up_later():
    day = D(2026, 10, 25)
    first = seed_on(day)

    # Rosters: last month and this month published for every clinic, next month a draft.
    statuses = dict(RosterMonth.objects.values_list("month", "status").annotate(n=Count("id")).values_list("month", "status"))
    assert statuses == {D(2026, 9, 1): "published", D(2026, 10, 1): "published", D(2026, 11, 1): "draft"}
    assert RosterMonth.objects.filter(month=D(2026, 10, 1), status="published").count() == 88
    # Settlements: every day from June (the three months before last month) to yesterday, none today.
    days = local_days()
    assert min(days) == D(2026, 6, 1) and max(days) == day - datetime.timedelta(days=1)
    assert len(days) == (day - D(2026, 6, 1)).days
    per_clinic_day = SettlementRecord.objects.filter(settled_at__date=D(2026, 10, 21)).values("facility").annotate(n=Count("id"))
    assert 80 <= len(per_clinic_day) and all(3 <= row["n"] <= 8 for row in per_clinic_day)  # a Wednesday
    # Last month's pay run: calculated, approved and paid, duties and consults paid for.
    assert list(PayRun.objects.values_list("month", flat=True)) == [D(2026, 9, 1)]
    assert PayRun.objects.get().approved_by.username == "payroll_officer"
    duty_pay_is_paid_for(D(2026, 9, 1))
    # Leave and consults around the day: past, upcoming, pending, refused.
    leave = LeaveRequest.objects.all()
    assert leave.filter(status="approved", end_date__lt=day).exists()
    assert leave.filter(status="approved", start_date__gt=day).exists()
    assert leave.filter(status="pending", start_date__gt=day).exists()
    assert leave.filter(status="rejected").exists()
    assert leave.filter(doctor__user__username="village_doctor").exists()
    consults = ConsultBooking.objects.filter(doctor__user__username="village_doctor")
    assert set(consults.values_list("status", flat=True)) == {"requested", "confirmed", "declined"}
    assert consults.filter(starts_at__lte=datetime.datetime(2026, 10, 25, 9, 30, tzinfo=SHANGHAI)).count() == 0
    assert "2027" not in first  # every month in play has its calendar

    # The same day again: nothing changes.
    before = snapshot()
    again = seed_on(day)
    assert snapshot() == before
    assert f"演示结算记录：新建 0，已有 {before['keys']}" in again

    # Forty days later: the days in between, December's roster, November's pay run; no duplicate.
    later = day + datetime.timedelta(days=40)  # 2026-12-04
    out = seed_on(later)
    statuses = dict(RosterMonth.objects.values_list("month", "status").annotate(n=Count("id")).values_list("month", "status"))
    assert statuses == {D(2026, 9, 1): "published", D(2026, 10, 1): "published", D(2026, 11, 1): "published",
                        D(2026, 12, 1): "published"}
    assert RosterMonth.objects.filter(month=D(2026, 12, 1)).count() == 88
    assert "2027" in out and "2027-01" in out  # January's calendar is not in the package: named, skipped
    days = local_days()
    assert max(days) == later - datetime.timedelta(days=1)
    assert {day + datetime.timedelta(days=n) for n in range(40)} <= days
    assert SettlementKey.objects.count() == SettlementRecord.objects.count()
    assert not SettlementRecord.objects.values("setl_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert sorted(PayRun.objects.values_list("month", "status")) == [(D(2026, 9, 1), "paid"), (D(2026, 11, 1), "paid")]
    duty_pay_is_paid_for(D(2026, 11, 1))
    assert Payslip.objects.filter(run__month=D(2026, 11, 1)).count() == 176
    # A settlement of a topped-up day is a fresh one, not a copy of an earlier day's.
    assert SettlementRecord.objects.filter(settled_at__date=D(2026, 11, 18)).aggregate(first=Min("setl_id"))["first"].startswith("DEMO")

    # And the later day once more: identical.
    before = snapshot()
    seed_on(later)
    assert snapshot() == before


def test_a_month_in_a_year_without_a_calendar_is_named_and_skipped():
    from clinics.seeding import NOTES_KEY, TODAY_KEY
    from staffing.rosters.seeding import seed_demo_rosters, seed_holidays
    from tests.factories import clinic_with_doctors

    clinic_with_doctors(2)
    counts: dict = {TODAY_KEY: D(2027, 1, 15)}
    seed_holidays(counts)
    seed_demo_rosters(counts)

    assert dict(RosterMonth.objects.values_list("month", "status")) == {D(2026, 12, 1): "published"}
    notes = counts[NOTES_KEY]
    assert len(notes) == 2  # January (this month) and February (the draft) are both 2027
    assert all("2027" in note for note in notes)
    assert any("2027-01" in note for note in notes) and any("2027-02" in note for note in notes)
    assert "/admin/rosters/calendaryear/import/" in notes[0] and "holidays" in notes[0]


def test_today_must_be_a_date():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("load_seeds", "--today", "2026/12/02", stdout=io.StringIO())
