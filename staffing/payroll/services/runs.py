"""Pay runs: create, calculate, approve, mark paid, delete. Every status change goes through
`RUN_FLOW` (draft → calculated → approved → paid, a calculated run recalculated), which locks the
run, refuses a step the table does not allow (`PayRunConflict`, 409), saves and audits."""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import audit_bulk, audit_record, changed_fields, snapshot
from core.bulk import copy_rows, json_text
from core.db import is_postgres
from core.transitions import StateMachine
from staffing.models import doctor_label
from staffing.payroll.bankfiles.checks import bank_file_warnings_by_doctor, refresh_bank_file_warnings
from staffing.payroll.calculation import calculate_run
from staffing.payroll.errors import PayRunConflict
from staffing.payroll.models import PayRun, Payslip, PayslipLine, PayslipLineFunding, payslip_label
from staffing.payroll.money import split_by_shares, yuan
from staffing.payroll.selectors import BankAccountChange, bank_account_changes

BATCH = 2000
Status = PayRun.Status


def _refusal(run: PayRun, to) -> str:
    if to == Status.APPROVED:
        return _("Only a calculated run can be approved; this run is %(status)s.") % {"status": run.get_status_display()}
    if to == Status.PAID:
        return _("Only an approved run can be marked paid; this run is %(status)s.") % {"status": run.get_status_display()}
    return (_("The %(run)s run is %(status)s and can no longer change. Put corrections in a later month's run.")
            % {"run": run, "status": run.get_status_display()})


RUN_FLOW = StateMachine(
    model=PayRun,
    allowed={
        Status.DRAFT: {Status.CALCULATED},
        Status.CALCULATED: {Status.CALCULATED, Status.APPROVED},
        Status.APPROVED: {Status.PAID},
    },
    audit_prefix="payrun",
    refusal=_refusal,
    error=PayRunConflict,
)


def _refuse_if_locked(run: PayRun) -> None:
    """A run that can no longer be calculated can no longer change at all (nor be deleted)."""
    RUN_FLOW.check(run, Status.CALCULATED)


@transaction.atomic
def payrun_create(*, month: datetime.date, township=None, acting_user) -> PayRun:
    month = month.replace(day=1)
    per_township = settings.PAYROLL_RUN_SCOPE == "township"
    if per_township and township is None:
        raise ValidationError(_("Payroll runs per township here (PAYROLL_RUN_SCOPE=township): choose the township."))
    if not per_township and township is not None:
        raise ValidationError(_("Payroll runs for the whole county here (PAYROLL_RUN_SCOPE=county): leave the township empty."))
    run = PayRun(month=month, township=township)
    try:
        run.full_clean()
    except ValidationError as exc:
        raise ValidationError(exc.messages)
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:
        raise ValidationError(_("There is already a run for %(month)s here; open it instead.") % {"month": f"{month:%Y-%m}"})
    audit_record(actor=acting_user, action="payrun.create", target=run, changes={"month": month, "township": getattr(township, "code", None)})
    return run


@transaction.atomic
def payrun_calculate(*, run: PayRun, acting_user, progress=None) -> PayRun:
    """(Re)calculate a draft or calculated run. The same inputs give the same payslips: each
    doctor's payslip row is kept (one per doctor per run) and its lines are rewritten.
    `progress(done, total=None, note="")` (a job's) hears the doctors calculated; it changes nothing."""
    run = RUN_FLOW.lock(run)
    _refuse_if_locked(run)
    earlier_open = PayRun.objects.filter(month__lt=run.month, status__in=[PayRun.Status.DRAFT, PayRun.Status.CALCULATED])
    earlier_open = earlier_open.filter(township_id=run.township_id) if run.township_id else earlier_open.filter(township__isnull=True)
    blocking = earlier_open.order_by("month").first()
    if blocking:
        raise ValidationError(
            _("Approve or delete the %(month)s run first: months are approved in order so corrections are not paid twice.")
            % {"month": f"{blocking.month:%Y-%m}"}
        )
    before = snapshot(run, ["status", "doctor_count", "gross_total", "deduction_total", "net_total"])
    # A job's bar runs over two halves: the doctors calculated, then the payslips written (in
    # three steps), so it neither sits full while the writes run nor promises "0 seconds left".
    step = _SavingSteps(progress)
    if progress is not None:
        progress(0, note=_("Reading the month's postings, rosters, leave and settlements"))
    pays, warnings = calculate_run(run, progress=step.calculating if progress is not None else None)
    step(0, len(pays))

    # Lines and payslips are rewritten; each doctor's payslip keeps its id (inserted again with
    # it), so audit entries and links stay valid. Cheaper than a row-by-row UPDATE at scale.
    previous = {doctor_id: (pk, net) for doctor_id, pk, net in Payslip.objects.filter(run=run).order_by().values_list("doctor_id", "pk", "net")}
    # What the bank file cannot pay (staffing.payroll.bankfiles.checks), written with the payslips.
    bank_warnings = bank_file_warnings_by_doctor(
        run=run, payslips=((doctor_id, pay.doctor.bank_name, pay.doctor.bank_account, pay.net) for doctor_id, pay in pays.items())
    )
    for doctor_id, found in bank_warnings.items():
        pays[doctor_id].warnings.extend(found)
    _delete_payslips(run)
    slip_ids = _insert_payslips(run, pays, {doctor_id: pk for doctor_id, (pk, _net) in previous.items()})
    step(1, len(pays))
    lines = [(slip_ids[doctor_id], position, ln) for doctor_id, pay in pays.items() for position, ln in enumerate(pay.lines)]
    line_ids = _insert_lines(lines)
    step(2, len(pays))
    _insert_funding(zip(line_ids, (ln for _slip, _position, ln in lines), strict=True))

    totals = {
        "doctor_count": len(pays),
        "gross_total": sum((p.gross for p in pays.values()), Decimal("0")),
        "deduction_total": sum((p.deductions for p in pays.values()), Decimal("0")),
        "net_total": sum((p.net for p in pays.values()), Decimal("0")),
    }
    after = {**before, **snapshot(PayRun(**totals), list(totals)), "status": Status.CALCULATED}
    changes = {k: v for k, v in changed_fields(before, after).items() if k != "status"}
    run = RUN_FLOW.transition(run, to=Status.CALCULATED, actor=acting_user, kind="calculate", lock=False,
                              fields={**totals, "warnings": warnings, "calculated_at": timezone.now()}, audit_changes=changes)
    changed_slips = [
        (slip_ids[d], payslip_label(doctor_label(p.doctor.name, p.doctor.is_demo), run.month))
        for d, p in pays.items()
        if previous.get(d, (None, None))[1] != p.net
    ]
    audit_bulk(actor=acting_user, action="payslip.calculate", model=Payslip, targets=changed_slips, changes={"run": run.pk},
               reason=_("pay run calculated"))
    return run


class _SavingSteps:
    """Maps a calculation's progress onto 2 × doctors: the first half counts the doctors
    calculated, the second the three writes (payslips, lines, funding rows)."""

    NOTES = (
        gettext_lazy("Saving the payslips"),
        gettext_lazy("Saving the payslip lines"),
        gettext_lazy("Saving each line's funding sources"),
    )

    def __init__(self, progress):
        self.progress = progress

    def calculating(self, done, total=None, note=""):
        self.progress(done, total=2 * total if total is not None else None, note=note)

    def __call__(self, index: int, doctors: int) -> None:
        if self.progress is not None:
            self.progress(doctors + doctors * index // 3, total=2 * doctors, note=self.NOTES[index])


LINE_COLUMNS = ("payslip_id", "position", "component", "kind", "description", "quantity", "rate", "amount", "taxable",
                "policy_id", "funding_source", "reference_month", "source")
PAYSLIP_COLUMNS = ("run_id", "doctor_id", "month", "facility_id", "township_id", "payable_days", "days_in_month", "gross",
                   "deductions", "net", "taxable_income", "social_insurance", "income_tax", "bank_name", "bank_account", "warnings")


def _delete_payslips(run: PayRun) -> None:
    """The run's funding rows, lines and payslips, one statement per table, children first
    (Django's delete() would fetch the rows to cascade, in batches that grow with the doctors).
    PostgreSQL deletes by join; an `IN (subquery)` there was misestimated and spilled to disk."""
    slips, lines, funding = Payslip._meta.db_table, PayslipLine._meta.db_table, PayslipLineFunding._meta.db_table
    with connection.cursor() as cursor:
        if is_postgres(connection):
            cursor.execute(f"DELETE FROM {funding} f USING {lines} l, {slips} p WHERE f.line_id = l.id AND l.payslip_id = p.id AND p.run_id = %s",
                           [run.pk])
            cursor.execute(f"DELETE FROM {lines} l USING {slips} p WHERE l.payslip_id = p.id AND p.run_id = %s", [run.pk])
        else:
            slips_of_run = f"SELECT id FROM {slips} WHERE run_id = %s"
            lines_of_run = f"SELECT id FROM {lines} WHERE payslip_id IN ({slips_of_run})"
            cursor.execute(f"DELETE FROM {funding} WHERE line_id IN ({lines_of_run})", [run.pk])
            cursor.execute(f"DELETE FROM {lines} WHERE payslip_id IN ({slips_of_run})", [run.pk])
        cursor.execute(f"DELETE FROM {slips} WHERE run_id = %s", [run.pk])


def _new_ids(model, count: int) -> list[int]:
    """`count` ids from the table's own sequence (PostgreSQL), handed out as an INSERT would."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(seq) FROM CAST(pg_get_serial_sequence(%s, 'id') AS regclass) seq, generate_series(1, %s)",
                       [model._meta.db_table, count])
        return [row[0] for row in cursor.fetchall()]


def _copy(model, columns, rows) -> None:
    with connection.cursor() as cursor:
        copy_rows(cursor, f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN", rows)


def _insert_payslips(run: PayRun, pays: dict, kept: dict[int, int]) -> dict[int, int]:
    """Write the run's payslips, each doctor's under the id it had (`kept`, by doctor) or a new one;
    returns the ids by doctor. COPY on PostgreSQL (ids drawn from the sequence first), bulk
    inserts elsewhere."""
    def values(pay):
        return (run.pk, pay.doctor.pk, run.month, pay.facility_id, pay.township_id, pay.payable_days, pay.days_in_month, pay.gross,
                pay.deductions, pay.net, pay.taxable_income, pay.social_insurance, pay.income_tax, pay.doctor.bank_name,
                pay.doctor.bank_account, pay.warnings)

    if is_postgres(connection):
        fresh = iter(_new_ids(Payslip, sum(1 for doctor_id in pays if doctor_id not in kept)))
        ids = {doctor_id: kept[doctor_id] if doctor_id in kept else next(fresh) for doctor_id in pays}
        _copy(Payslip, ("id", *PAYSLIP_COLUMNS), (
            (ids[doctor_id], *values(pay)[:-1], json_text(pay.warnings)) for doctor_id, pay in pays.items()
        ))
        return ids
    slips = Payslip.objects.bulk_create(
        (Payslip(pk=kept.get(doctor_id), **dict(zip(PAYSLIP_COLUMNS, values(pay), strict=True))) for doctor_id, pay in pays.items()),
        batch_size=BATCH,
    )
    return {slip.doctor_id: slip.pk for slip in slips}


def _line_values(slip_id: int, position: int, ln) -> tuple:
    return (slip_id, position, ln.component, ln.kind, ln.description[:200], ln.quantity, ln.rate, ln.amount, ln.taxable, ln.policy_id,
            ln.funding_source, ln.reference_month, ln.source)


def _insert_lines(lines: list[tuple]) -> list[int]:
    """Write payslip lines ((payslip id, position, line) each); returns their ids in that order.
    COPY on PostgreSQL (a province's 200,000 lines in one statement, its guard and reference
    triggers checking them once), bulk inserts elsewhere."""
    if is_postgres(connection):
        ids = _new_ids(PayslipLine, len(lines))
        _copy(PayslipLine, ("id", *LINE_COLUMNS), (
            (pk, *_line_values(*line)[:-1], json_text(line[2].source)) for pk, line in zip(ids, lines, strict=True)
        ))
        return ids
    created = PayslipLine.objects.bulk_create(
        (PayslipLine(**dict(zip(LINE_COLUMNS, _line_values(*line), strict=True))) for line in lines), batch_size=BATCH
    )
    return [line.pk for line in created]


def _insert_funding(lines) -> None:
    """Each line's funding split, one row per source (`lines`: (line id, line) pairs)."""
    rows = ((pk, source, amount) for pk, ln in lines for source, amount in split_by_shares(ln.amount, ln.funding))
    if is_postgres(connection):
        _copy(PayslipLineFunding, ("line_id", "source", "amount"), rows)
        return
    PayslipLineFunding.objects.bulk_create(
        (PayslipLineFunding(line_id=pk, source=source, amount=amount) for pk, source, amount in rows), batch_size=BATCH
    )


def payrun_warnings(*, run: PayRun) -> list[dict]:
    """Run warnings and each payslip's warnings (with the doctor), shown before approval."""
    items = [dict(w, doctor=None) for w in run.warnings]
    for slip in Payslip.objects.filter(run=run).exclude(warnings=[]).select_related("doctor").order_by("doctor__name"):
        items.extend(dict(w, doctor=str(slip.doctor)) for w in slip.warnings)
    return items


@transaction.atomic
def payrun_approve(
    *, run: PayRun, acting_user, acknowledge_warnings: bool = False, acknowledged_bank_changes: Iterable[int] = (), progress=None
) -> PayRun:
    """Approve a calculated run. Its warnings need `acknowledge_warnings`; each bank-account change
    it pays out on for the first time (`selectors.bank_account_changes`) needs its id in
    `acknowledged_bank_changes`, which the approver gives after checking the change with the
    doctor. The acknowledgement is recorded on the run and audited. A warning of a kind that
    blocks approval refuses it. `progress` (a job's) is accepted for the job's signature; the
    doctors are told of their payslip when the run is marked paid."""
    run = RUN_FLOW.lock(run)
    RUN_FLOW.check(run, Status.APPROVED)
    totals = Payslip.objects.filter(run=run).aggregate(net=Sum("net"), gross=Sum("gross"))
    if (totals["net"] or 0) != run.net_total or (totals["gross"] or 0) != run.gross_total:
        raise ValidationError(_("The run's totals do not match its payslips; calculate the run again."))
    refresh_bank_file_warnings(run=run)  # accounts, paying banks' formats and marks as they are now
    warnings = payrun_warnings(run=run)
    _refuse_blocking_warnings(run)
    if warnings and not acknowledge_warnings:
        raise ValidationError(
            _("This run has %(count)d warnings. Review them and confirm that you approve it anyway.") % {"count": len(warnings)}
        )
    bank_changes = _check_bank_changes_acknowledged(run, acknowledged_bank_changes)
    now = timezone.now()
    approver = acting_user if getattr(acting_user, "is_authenticated", False) else None
    fields = {"approved_at": now, "approved_by": approver}
    if bank_changes:
        fields |= {"bank_changes_acknowledged": [change.as_record() for change in bank_changes],
                   "bank_changes_acknowledged_by": approver, "bank_changes_acknowledged_at": now}
    run = RUN_FLOW.transition(run, to=Status.APPROVED, actor=acting_user, kind="approve", lock=False, fields=fields,
                              audit_changes={"net_total": run.net_total, "warnings": len(warnings), "bank_changes": len(bank_changes)})
    if bank_changes:
        audit_record(
            actor=acting_user,
            action="payrun.bank_changes_acknowledge",
            target=run,
            changes={"changes": [c.entry_id for c in bank_changes], "doctors": [c.doctor_id for c in bank_changes]},
            reason=_("The approver checked these bank-account changes with the doctors."),
        )
    # The doctors hear of their payslip when the run is marked paid (`payrun_mark_paid`), not now:
    # an approved run is not yet money in their account.
    return run


def _refuse_blocking_warnings(run: PayRun) -> None:
    """A warning whose kind blocks approval (`review.warnings`, severity BLOCKING) refuses it,
    naming the doctors, whatever the approver acknowledges."""
    from staffing.payroll.review.grouping import blocking_doctors, review_warnings

    blocking = blocking_doctors(review_warnings(run=run))
    if blocking:
        raise ValidationError(
            _("This run cannot be approved until these are resolved: %(items)s.")
            % {"items": "；".join(f"{label}（{'、'.join(names)}）" for label, names in blocking.items())}
        )


def _check_bank_changes_acknowledged(run: PayRun, acknowledged: Iterable[int]) -> list[BankAccountChange]:
    """The run's bank-account changes, once each is acknowledged; refuses (in Chinese) otherwise."""
    changes = bank_account_changes(run=run)
    stale = sorted({c.doctor_name for c in changes if c.after_calculation})
    if stale:
        raise ValidationError(
            _("The bank account of %(doctors)s changed after this run was calculated, so its bank file would still pay "
              "the old account. Calculate the run again, then approve it.") % {"doctors": "、".join(stale)}
        )
    acknowledged = {int(pk) for pk in acknowledged}
    missing = sorted({c.doctor_name for c in changes if c.entry_id not in acknowledged})
    if missing:
        raise ValidationError(
            _("Bank-account changes since the last paid run are not acknowledged: %(doctors)s. Call each doctor on the "
              "number you already hold for them, check the change was theirs, then tick the box that you have.")
            % {"doctors": "、".join(missing)}
        )
    return changes


def _notify_doctors(run: PayRun, progress=None) -> None:
    from notifications.services import notify

    slips = Payslip.objects.filter(run=run, doctor__user__isnull=False).select_related("doctor__user")
    with translation.override(settings.LANGUAGE_CODE):  # the notification texts are in the site language
        month_label = date_format(run.month, "YEAR_MONTH_FORMAT")  # 2026年11月
        paid_on = date_format(timezone.localtime(run.paid_at), "DATE_FORMAT") if run.paid_at else ""
    total = slips.count() if progress is not None else 0
    note = _("Telling the doctors their pay is paid") if progress is not None else ""
    for done, slip in enumerate(slips, 1):
        notify(
            recipient=slip.doctor.user,
            kind="payslip_available",
            about=slip,
            context={"month": month_label, "net_pay": yuan(slip.net), "paid_on": paid_on},
            link=reverse("payroll:payslip", args=[slip.pk]),
        )
        if progress is not None:
            progress(done, total=total, note=note)


@transaction.atomic
def payrun_mark_paid(*, run: PayRun, acting_user, progress=None) -> PayRun:
    """Record that the bank paid the run, and tell each doctor with a login that their pay is paid
    (the payslip notice, once: the run cannot be marked paid twice and `notify` is idempotent)."""
    run = RUN_FLOW.transition(run, to=Status.PAID, actor=acting_user, kind="paid", fields={"paid_at": timezone.now()})
    _notify_doctors(run, progress=progress)
    return run


@transaction.atomic
def payrun_delete(*, run: PayRun, acting_user) -> None:
    run = RUN_FLOW.lock(run)
    _refuse_if_locked(run)
    audit_record(actor=acting_user, action="payrun.delete", target=run, changes={"month": run.month, "net_total": run.net_total})
    run.delete()


def payrun_export_record(*, run: PayRun, kind: str, acting_user) -> None:
    """Record that a run's file was taken (the bank file and payslips carry accounts and pay)."""
    audit_record(actor=acting_user, action=f"payrun.export.{kind}", target=run)
