"""The month summary as an XLSX download, shared by the admin and the API."""

import datetime

from django.http import HttpResponse

from core.tabular import AUTO, INT, TEXT, xlsx_bytes
from staffing.rosters import selectors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Clinic code (text), clinic, township, roster status, doctor, then six day counts.
SUMMARY_KINDS = [TEXT, AUTO, AUTO, AUTO, AUTO, INT, INT, INT, INT, INT, INT]


def month_summary_xlsx_response(*, user, month: datetime.date, township_code: str | None) -> HttpResponse:
    summary = selectors.month_summary(user=user, month=month, township_code=township_code)
    headers, rows = selectors.month_summary_table(summary)
    response = HttpResponse(xlsx_bytes(headers, rows, sheet_title=f"{month:%Y-%m}", kinds=SUMMARY_KINDS), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="roster-summary-{month:%Y-%m}.xlsx"'
    return response
