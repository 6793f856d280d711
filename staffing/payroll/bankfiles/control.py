"""The control sheet (核对表) that goes with the bank files: per bank and file its record count and
total, the grand total, each run's net total reconciled (paid by file + paid outside the file +
not paid), and the payslips paid outside the file with who marked them, when and why."""

import io
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from core.tabular import neutralise

MONEY_FORMAT = "#,##0.00"


def _put(sheet, row: int, values, bold=False):
    for column, value in enumerate(values, 1):
        if value is None or value == "":
            continue
        cell = sheet.cell(row, column)
        if isinstance(value, Decimal):
            cell.value = value
            cell.number_format = MONEY_FORMAT
        elif isinstance(value, int):
            cell.value = value
        else:
            cell.value = ILLEGAL_CHARACTERS_RE.sub("", neutralise(str(value)))
            cell.data_type = "s"
        if bold:
            cell.font = Font(bold=True)


def control_sheet(*, month, runs, groups, payments, reconciliation) -> bytes:
    """`groups`: [(bank name, format name, [RenderedFile])]; `payments`: selectors.RunPayments;
    `reconciliation`: [(run, net total, by file, outside, not paid)]."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Control sheet")[:31]
    row = 1
    _put(sheet, row, [_("Bank payment files for %(month)s: control sheet") % {"month": f"{month:%Y-%m}"}], bold=True)
    row += 1
    _put(sheet, row, [_("Made at"), f"{timezone.localtime():%Y-%m-%d %H:%M}"])
    row += 2
    _put(sheet, row, [_("Bank"), _("Format"), _("File"), _("Records"), _("Total")], bold=True)
    grand_records, grand_total = 0, Decimal("0")
    for bank, format_name, files in groups:
        for rendered in files:
            row += 1
            _put(sheet, row, [bank, format_name, rendered.name, rendered.records, rendered.total])
            grand_records += rendered.records
            grand_total += rendered.total
    row += 1
    _put(sheet, row, [_("Total of the files"), "", "", grand_records, grand_total], bold=True)
    row += 2
    _put(sheet, row, [_("Pay run"), _("Status"), _("Net total of the run"), _("Paid by the files"), _("Paid outside the files"),
                      _("Not paid (net pay zero or negative)"), _("Agrees")], bold=True)
    for run, net_total, by_file, outside, not_paid in reconciliation:
        row += 1
        agrees = net_total == by_file + outside + not_paid
        _put(sheet, row, [str(run), run.get_status_display(), net_total, by_file, outside, not_paid, _("yes") if agrees else _("NO")])
    row += 2
    _put(sheet, row, [_("Paid outside the bank files")], bold=True)
    row += 1
    _put(sheet, row, [_("Doctor"), _("Clinic"), _("Bank"), _("Account"), _("Net pay"), _("Reason"), _("Marked by"), _("Marked at")], bold=True)
    for item in payments.outside:
        row += 1
        _put(sheet, row, [item["doctor"], item["clinic"], item["bank_name"], item["account"], item["net"], item["reason"], item["marked_by"],
                          f"{timezone.localtime(item['marked_at']):%Y-%m-%d %H:%M}"])
    if not payments.outside:
        row += 1
        _put(sheet, row, [_("None")])
    row += 2
    _put(sheet, row, [_("Not in the files: net pay zero or negative")], bold=True)
    for item in payments.not_paid:
        row += 1
        _put(sheet, row, [item["doctor"], item["clinic"], item["bank_name"], item["account"], item["net"]])
    if not payments.not_paid:
        row += 1
        _put(sheet, row, [_("None")])
    for letter, width in zip("ABCDEFGH", (24, 30, 34, 12, 16, 24, 14, 18), strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
