"""The admin pages of the review that are not a model's change page: the funding-source report."""

import datetime

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from core.audit import audit_record
from staffing.payroll.models import PayRun
from staffing.payroll.review.funding import RELEASED, funding_report, funding_report_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month(value: str | None) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(value or "", "%Y-%m").date()
    except ValueError:
        return None


def funding_report_page(model_admin, request):
    """Month picker, townships × funding sources with totals, and the XLSX of the same."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    asked = request.GET.get("month")
    month = _month(asked)
    report = funding_report(user=request.user, month=month)
    error = _("Choose a month as YYYY-MM, for example 2026-10.") if asked and month is None else ""
    if request.GET.get("format") == "xlsx" and report.month is not None and not error:
        run = PayRun.objects.filter(month=report.month, status__in=RELEASED).order_by("township__code").first()
        if run is not None:
            audit_record(actor=request.user, action="payroll.export.funding_report", target=run,
                         changes={"month": f"{report.month:%Y-%m}", "townships": len(report.rows)})
        response = HttpResponse(funding_report_xlsx(report), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="funding-sources-{report.month:%Y-%m}.xlsx"'
        return response
    context = {**model_admin.admin_site.each_context(request), "title": _("Pay by funding source and township"), "report": report,
               "error": error, "opts": model_admin.model._meta}
    return TemplateResponse(request, "admin/payroll/payrun/funding_report.html", context)
