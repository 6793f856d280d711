"""The pay run's long work as jobs (core.jobs): calculating and approving a run that covers more
than PAYROLL_JOB_THRESHOLD doctors runs on a worker with progress; a smaller run is calculated or
approved in the request, as before. Both job functions call the run services themselves
(`payrun_calculate`, `payrun_approve`), so the rules, the audit and the refusals are the same.

Idempotent: a recalculation gives the same payslips; an approval retried after a takeover finds
the run approved and reports it (the service would refuse a second approval)."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import NotFound
from core.jobs import attach_file, register_job, start_job
from staffing.payroll import exports, services
from staffing.payroll.calculation import month_bounds, village_clinics
from staffing.payroll.models import PayRun
from staffing.payroll.selectors import runs_in_reach
from staffing.selectors import doctors_posted

CALCULATE = "payroll.calculate"
APPROVE = "payroll.approve"
MARK_PAID = "payroll.mark_paid"
EXPORT = "payroll.export"


def run_doctor_count(run: PayRun) -> int:
    """How many doctors the run covers: its payslips once calculated, else the doctors posted to a
    village clinic of its area during the month (what a calculation would pay)."""
    if run.status != PayRun.Status.DRAFT:
        return run.doctor_count
    first, last, _days = month_bounds(run.month)
    posted = doctors_posted(facility_ids=village_clinics(run.township_id).values("pk"), start=first, end=last)
    return posted.order_by().values("doctor_id").distinct().count()


def runs_as_job(run: PayRun) -> bool:
    return run_doctor_count(run) > settings.PAYROLL_JOB_THRESHOLD


def _run_key(params: dict, action: str) -> str:
    return f"payrun:{params['run_id']}:{action}"


def _result(run: PayRun, message: str) -> dict:
    return {"message": message, "run_id": run.pk, "url": reverse("admin:payroll_payrun_change", args=[run.pk]), "doctor_count": run.doctor_count,
            "gross_total": f"{run.gross_total}", "net_total": f"{run.net_total}"}  # fmt: skip


@register_job(CALCULATE, label=gettext_lazy("Pay run calculation"), dedupe=lambda params: _run_key(params, "calculate"))
def calculate_job(*, params, progress, job):
    run = PayRun.objects.get(pk=params["run_id"])
    run = services.payrun_calculate(run=run, acting_user=job.started_by, progress=progress)
    return _result(run, _("%(run)s calculated.") % {"run": run})


@register_job(APPROVE, label=gettext_lazy("Pay run approval"), dedupe=lambda params: _run_key(params, "approve"))
def approve_job(*, params, progress, job):
    run = PayRun.objects.get(pk=params["run_id"])
    if job.attempts > 1 and run.status in (PayRun.Status.APPROVED, PayRun.Status.PAID):
        # An earlier attempt approved it and its worker died before recording the end.
        return _result(
            run, _("The %(run)s run is approved; its payslips are now locked. The doctors are told when it is marked paid.") % {"run": run}
        )
    run = services.payrun_approve(
        run=run,
        acting_user=job.started_by,
        acknowledge_warnings=bool(params.get("acknowledge_warnings")),
        acknowledged_bank_changes=params.get("acknowledged_bank_changes") or (),
        progress=progress,
    )
    return _result(
        run, _("The %(run)s run is approved; its payslips are now locked. The doctors are told when it is marked paid.") % {"run": run}
    )


@register_job(MARK_PAID, label=gettext_lazy("Pay run marked paid"), dedupe=lambda params: _run_key(params, "paid"))
def mark_paid_job(*, params, progress, job):
    """Mark a large run paid and tell its doctors (one transaction: a worker that dies before the
    commit leaves the run approved; one that dies after it leaves it paid with every notice queued)."""
    run = PayRun.objects.get(pk=params["run_id"])
    if job.attempts > 1 and run.status == PayRun.Status.PAID:
        return _result(run, _("%(run)s marked paid; its doctors are told their pay is paid.") % {"run": run})
    run = services.payrun_mark_paid(run=run, acting_user=job.started_by, progress=progress)
    return _result(run, _("%(run)s marked paid; its doctors are told their pay is paid.") % {"run": run})


def start_mark_paid(*, run: PayRun, user):
    return start_job(MARK_PAID, params={"run_id": run.pk}, user=user)


def start_calculation(*, run: PayRun, user):
    return start_job(CALCULATE, params={"run_id": run.pk}, user=user)


def start_approval(*, run: PayRun, user, acknowledge_warnings: bool, acknowledged_bank_changes) -> object:
    params = {"run_id": run.pk, "acknowledge_warnings": bool(acknowledge_warnings),
              "acknowledged_bank_changes": sorted({int(pk) for pk in acknowledged_bank_changes})}  # fmt: skip
    return start_job(APPROVE, params=params, user=user)


@register_job(EXPORT, label=gettext_lazy("Pay run export"),
              dedupe=lambda params: f"payrun:{params['run_id']}:export:{params['kind']}:by:{params['by']}")
def export_job(*, params, progress, job):
    """A whole run's summary or payslips, written on a worker. The file holds every doctor's pay:
    only the user who started the job may download it (core.jobs.job_file_for), and the run is
    looked up again within that user's reach when the job runs."""
    run = runs_in_reach(user=job.started_by).filter(pk=params["run_id"]).first() if job.started_by else None
    if run is None or params.get("kind") not in exports.RUN_EXPORTS:
        raise NotFound(_("This pay run is outside your reach."))
    progress(0, note=_("Reading the payslips"))
    content, content_type, name = exports.run_export(run, params["kind"], progress=progress)
    attach_file(job, name=name, content=content, content_type=content_type)
    services.payrun_export_record(run=run, kind=params["kind"], acting_user=job.started_by)
    return {"message": _("The %(run)s export is ready to download.") % {"run": run}, "run_id": run.pk,
            "url": reverse("admin:payroll_payrun_change", args=[run.pk])}


def start_export(*, run: PayRun, kind: str, user):
    return start_job(EXPORT, params={"run_id": run.pk, "kind": kind, "by": user.pk}, user=user)
