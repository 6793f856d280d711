"""What makes a bank file format usable, checked before it is saved (admin and services alike),
with messages that say what to fix."""

import re

from django.utils.translation import gettext as _

from staffing.payroll.models import BankFileColumn, BankFileFormat

Field = BankFileColumn.Field
FileType = BankFileFormat.FileType
CELL_RE = re.compile(r"^([A-Z]{1,3})([1-9][0-9]{0,5})$")
REQUIRED_FIELDS = (Field.NAME, Field.ACCOUNT, Field.AMOUNT)


def format_problems(file_format: BankFileFormat, columns, summary_fields) -> list[str]:
    """Every reason the format cannot write a bank file, in Chinese (empty: it can)."""
    return (format_level_problems(file_format) + column_problems(file_format, columns)
            + summary_problems(file_format, summary_fields))


def column_problems(file_format: BankFileFormat, columns) -> list[str]:
    problems = []
    columns = list(columns)
    kind = file_format.file_type
    if not columns:
        problems.append(_("A bank file format needs its columns: add at least the payee name, account and amount."))
    present = {c.field for c in columns}
    missing = [str(Field(f).label) for f in REQUIRED_FIELDS if f not in present]
    if columns and missing:
        problems.append(_("The format has no column for: %(fields)s. A bank cannot pay without them.") % {"fields": "、".join(missing)})
    for field in REQUIRED_FIELDS:
        if sum(1 for c in columns if c.field == field) > 1:
            problems.append(_("The %(field)s appears in two columns; keep one.") % {"field": Field(field).label})
    positions = [c.position for c in columns]
    if len(positions) != len(set(positions)):
        problems.append(_("Two columns of a format cannot have the same position."))
    if kind == FileType.FIXED:
        no_width = [str(c.position) for c in columns if not c.width]
        if no_width:
            problems.append(_("A fixed-width format needs a width (in bytes) for every column; missing at positions %(positions)s.")
                            % {"positions": "、".join(no_width)})
    for column in columns:
        if column.width is not None and column.width <= 0:
            problems.append(_("A width must be positive."))
            break
    for column in columns:
        if column.fill and not (column.fill.isascii() and column.fill.isprintable()):
            problems.append(_("A padding character is one printable ASCII character (a space or 0)."))
            break
    for column in columns:
        if column.field == Field.CONSTANT and not column.value:
            problems.append(_("Column %(position)d is constant text but has no value.") % {"position": column.position})
    return problems


def format_level_problems(file_format: BankFileFormat) -> list[str]:
    problems = []
    kind = file_format.file_type
    if kind == FileType.DELIMITED and not file_format.delimiter:
        problems.append(_("A delimited format needs its delimiter, for example | or ,."))
    if kind != FileType.XLSX and file_format.delimiter and file_format.delimiter.replace("\\t", "\t") in ("\r", "\n"):
        problems.append(_("A line break cannot be the delimiter."))
    if file_format.quote_char and file_format.quote_char == file_format.delimiter:
        problems.append(_("The quote character cannot be the delimiter."))
    if file_format.amount_decimals is not None and file_format.amount_decimals > 4:
        problems.append(_("An amount has at most 4 decimals."))
    if (file_format.amount_unit == BankFileFormat.AmountUnit.YUAN and file_format.amount_decimals is not None
            and file_format.amount_decimals < 2):
        # Pay is to the fen: fewer decimals would round each payment, and the file would pay
        # another sum than the run.
        problems.append(_("An amount in yuan needs at least 2 decimals (pay is to the fen); for whole numbers choose fen."))
    if file_format.max_records is not None and file_format.max_records <= 0:
        problems.append(_("The maximum records per file must be positive (or empty)."))
    return problems


def summary_problems(file_format: BankFileFormat, summary_fields) -> list[str]:
    problems = []
    summary_fields = list(summary_fields)
    kind = file_format.file_type
    if kind == FileType.FIXED and any(not f.width for f in summary_fields):
        problems.append(_("A fixed-width format needs a width for every header and trailer field."))
    for field in summary_fields:
        if field.width is not None and field.width <= 0:
            problems.append(_("A width must be positive."))
            break
    for field in summary_fields:
        if field.fill and not (field.fill.isascii() and field.fill.isprintable()):
            problems.append(_("A padding character is one printable ASCII character (a space or 0)."))
            break
    for field in summary_fields:
        if field.kind == field.Kind.CONSTANT and not field.value:
            problems.append(_("A constant header or trailer field needs its value."))
    if kind == FileType.XLSX:
        rows = []
        for field in summary_fields:
            match = CELL_RE.match((field.cell or "").strip().upper())
            if not match:
                problems.append(_("A sheet's header or trailer field needs its cell, for example B2 (got “%(cell)s”).")
                                % {"cell": field.cell})
            else:
                field.cell = match.group(0)
                rows.append(int(match.group(2)))
        first = file_format.first_data_row or (2 if file_format.title_row else 1)
        if rows and max(rows) >= first - (1 if file_format.title_row else 0):
            problems.append(_("The summary cells must lie above the titles and payees: set the first data row below row %(row)d.")
                            % {"row": max(rows)})
    return problems
