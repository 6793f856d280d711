"""The month's tax filing as a job for a large run (over PAYROLL_JOB_THRESHOLD doctors): built on a
worker and kept as the job's file (`core.jobs.attach_file`), downloaded from the job's page.
Idempotent: a retry builds the same workbook and replaces the file."""

import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import NotFound
from core.jobs import register_job, start_job
from staffing.payroll.tax.filing import XLSX_TYPE, FilingError, tax_filing_build

EXPORT = "payroll.tax_filing"


@register_job(EXPORT, label=gettext_lazy("Tax filing export"), dedupe=lambda params: f"taxfiling:{params['month']}:{params.get('township_id')}:by:{params.get('by')}")
def export_job(*, params, progress, job):
    from core.jobs import attach_file

    month = datetime.date.fromisoformat(params["month"])
    # The file holds every filed person's ID number: the reach is checked again as the job runs
    # (the starter's role may have changed since), and only the starter may download it.
    # A county-wide user files the whole month (township None), a township admin his township.
    from staffing.payroll.tax.filing import township_for

    try:
        allowed = job.started_by is not None and township_for(job.started_by) == params.get("township_id")
    except PermissionError:
        allowed = False
    if not allowed:
        raise NotFound(_("This pay run is outside your reach."))
    progress(0, note=_("Reading the month's approved payslips"))
    try:
        filing = tax_filing_build(month=month, township_id=params.get("township_id"), progress=progress)
    except FilingError as exc:
        raise ValidationError(str(exc)) from None
    attach_file(job, name=filing.filename, content=filing.content, content_type=XLSX_TYPE)
    progress(len(filing.people), total=len(filing.people), note=_("Workbook written"))
    return {"message": _("%(count)d persons filed for %(month)s.") % {"count": len(filing.people), "month": f"{month:%Y-%m}"},
            "people": len(filing.people), "bonus": filing.bonus_count}


def start_export(*, month: datetime.date, township_id, user):
    return start_job(EXPORT, params={"month": month.isoformat(), "township_id": township_id, "by": user.pk}, user=user)
