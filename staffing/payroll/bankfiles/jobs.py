"""A large run's bank files as a job (core.jobs): a run over PAYROLL_JOB_THRESHOLD doctors is
rendered on a worker and its zip kept as the job's private file (`core.jobs.attach_file`), which
only the starter downloads. Idempotent: a retry renders the same files and replaces the file."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.jobs import attach_file, register_job, start_job
from staffing.payroll.bankfiles import selectors, services
from staffing.payroll.bankfiles.render import BankFileError
from staffing.payroll.models import PayRun

EXPORT = "payroll.bank_files"


@register_job(EXPORT, label=gettext_lazy("Bank payment files"), dedupe=lambda params: f"payrun:{params['run_id']}:bank_files:by:{params.get('by')}")
def export_job(*, params, progress, job):
    user = job.started_by
    run = selectors.runs_in_reach(user=user).filter(pk=params["run_id"]).first() if user is not None else None
    if run is None:
        raise BankFileError(_("This pay run is outside your reach."))
    progress(0, total=1, note=_("Writing the bank files"))
    export = services.bank_export_build(runs=[run], acting_user=user)
    attach_file(job, name=export.zip_name, content=export.zip_bytes(), content_type=services.ZIP_CONTENT_TYPE)
    progress(1, total=1, note=_("Writing the bank files"))
    records = sum(f.records for f in export.files)
    return {"message": _("%(files)d bank files with %(records)d payments for the %(run)s run, and the control sheet.")
            % {"files": len(export.files), "records": records, "run": run},
            "run_id": run.pk, "files": len(export.files), "records": records}


def start_export(*, run: PayRun, user):
    return start_job(EXPORT, params={"run_id": run.pk, "by": user.pk}, user=user)
