"""A bank file format and its payees → the file's bytes.

Text files: every line ends with the format's line ending; a fixed-width field is measured and
padded in BYTES of the format's encoding (a Chinese character is two bytes in GBK), never
truncated: a value longer than its field is refused, naming the doctor. A character the encoding
cannot hold is refused too (never replaced by "?"). Control characters (CR, LF, tab…) in a name or
a text are replaced by a space, so no value can start a new record; a value holding the
delimiter is quoted when the format has a quote character and refused otherwise.

Sheets: account, ID number and branch code are string cells (format "@", so never 6.23E+18),
text is neutralised against formulas (`core.tabular.neutralise`), the amount is a number with
format 0.00, an empty value is no cell at all (CCB refuses empty inline-string cells).
"""

import dataclasses
import datetime
import io
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.cell import coordinate_from_string

from core.tabular import neutralise
from staffing.payroll.models import BankFileColumn, BankFileFormat, BankFileSummaryField

Field = BankFileColumn.Field
Kind = BankFileSummaryField.Kind
FileType = BankFileFormat.FileType
LINE_ENDINGS = {BankFileFormat.LineEnding.LF: "\n", BankFileFormat.LineEnding.CRLF: "\r\n"}
TEXT_CELL_FIELDS = {Field.ACCOUNT, Field.ID_NUMBER, Field.BRANCH_CODE}
WHITESPACE_RE = re.compile(r"\s+")


class BankFileError(ValueError):
    """A payee or a format the file cannot be written with; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class Payee:
    """One record of a bank file: what the payee's payslip pays."""

    payslip_id: int
    doctor_id: int
    name: str
    clinic: str
    account: str
    amount: Decimal
    id_number: str = ""
    bank_name: str = ""
    branch_code: str = ""
    purpose: str = ""
    run_id: int = 0


@dataclasses.dataclass(frozen=True)
class Spec:
    """A format with its columns and summary fields, read once (or built from an unsaved form)."""

    file_format: BankFileFormat
    columns: tuple
    header: tuple = ()
    trailer: tuple = ()

    @classmethod
    def of(cls, file_format: BankFileFormat) -> "Spec":
        fields = list(file_format.summary_fields.all())
        return cls(
            file_format=file_format,
            columns=tuple(sorted(file_format.columns.all(), key=lambda c: c.position)),
            header=tuple(sorted((f for f in fields if f.part == BankFileSummaryField.Part.HEADER), key=lambda f: f.position)),
            trailer=tuple(sorted((f for f in fields if f.part == BankFileSummaryField.Part.TRAILER), key=lambda f: f.position)),
        )

    @property
    def extension(self) -> str:
        ext = (self.file_format.file_extension or "").strip().lstrip(".")
        return ext or ("xlsx" if self.file_format.file_type == FileType.XLSX else "txt")


@dataclasses.dataclass(frozen=True)
class RenderedFile:
    name: str
    content: bytes
    records: int
    total: Decimal
    payees: tuple


def clean_text(value) -> str:
    """Text with every control or line/paragraph separator character replaced by a space and
    runs of white space collapsed: a name can never end a record or a line early."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in str(value or ""))
    return WHITESPACE_RE.sub(" ", text).strip()


def amount_text(spec: Spec, amount: Decimal) -> str:
    fmt = spec.file_format
    if fmt.amount_unit == BankFileFormat.AmountUnit.FEN:
        return str(int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)))
    places = fmt.amount_decimals
    return f"{amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):.{places}f}"


def _payee_value(column, payee: Payee, sequence: int):
    field = column.field
    if field == Field.SEQUENCE:
        return sequence
    if field == Field.AMOUNT:
        return payee.amount
    if field in (Field.CONSTANT, Field.CROSS_BANK):
        return clean_text(column.value)
    if field == Field.EMPTY:
        return ""
    value = {
        Field.NAME: payee.name,
        Field.ACCOUNT: payee.account,
        Field.ID_NUMBER: payee.id_number,
        Field.PURPOSE: payee.purpose,
        Field.BANK_NAME: payee.bank_name,
        Field.BRANCH_CODE: payee.branch_code,
    }[field]
    return clean_text(value)


def _summary_value(field, *, records: int, total: Decimal, month: datetime.date, today: datetime.date):
    if field.kind == Kind.TOTAL_AMOUNT:
        return total
    if field.kind == Kind.RECORD_COUNT:
        return records
    if field.kind == Kind.DATE:
        return f"{today:%Y%m%d}"
    if field.kind == Kind.MONTH:
        return f"{month:%Y%m}"
    return clean_text(field.value)


def _who(payee: Payee | None) -> str:
    return _("%(doctor)s (%(clinic)s)") % {"doctor": payee.name, "clinic": payee.clinic} if payee else _("the header or trailer")


def _encode(spec: Spec, text: str, payee: Payee | None, label: str) -> bytes:
    encoding = spec.file_format.encoding
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end]
        raise BankFileError(
            _("%(who)s: the %(field)s “%(text)s” has the character “%(char)s”, which %(encoding)s cannot hold. "
              "Correct the spelling in the register (or use a UTF-8 format if the bank accepts one); it is not replaced silently.")
            % {"who": _who(payee), "field": label, "text": text, "char": bad, "encoding": spec.file_format.get_encoding_display()}
        ) from None


def _pad(spec: Spec, item, data: bytes, payee: Payee | None, label: str) -> bytes:
    if not item.width:
        return data
    if len(data) > item.width:
        raise BankFileError(
            _("%(who)s: the %(field)s takes %(length)d bytes in %(encoding)s but its field is %(width)d bytes wide; "
              "it is not cut short. Widen the field in the format or correct the value.")
            % {"who": _who(payee), "field": label, "length": len(data), "width": item.width,
               "encoding": spec.file_format.get_encoding_display()}
        )
    fill = (item.fill or " ").encode("ascii", errors="strict") * (item.width - len(data))
    return data + fill if item.align == BankFileColumn.Align.LEFT else fill + data


def _text_of(spec: Spec, value) -> str:
    if isinstance(value, Decimal):
        return amount_text(spec, value)
    return str(value)


def _delimited(spec: Spec, text: str, payee: Payee | None, label: str) -> str:
    fmt = spec.file_format
    delimiter = delimiter_of(fmt)
    quote = fmt.quote_char
    if delimiter and delimiter in text or (quote and quote in text):
        if not quote:
            raise BankFileError(
                _("%(who)s: the %(field)s “%(text)s” holds the delimiter “%(delimiter)s” and the format has no quote character.")
                % {"who": _who(payee), "field": label, "text": text, "delimiter": delimiter}
            )
        return quote + text.replace(quote, quote * 2) + quote
    return text


def delimiter_of(fmt: BankFileFormat) -> str:
    return fmt.delimiter.replace("\\t", "\t") if fmt.delimiter else ""


def _label(item) -> str:
    return str(item.title or item.get_field_display()) if isinstance(item, BankFileColumn) else str(item.get_kind_display())


def _text_line(spec: Spec, items, values, payee: Payee | None) -> bytes:
    fixed = spec.file_format.file_type == FileType.FIXED
    parts = []
    for item, value in zip(items, values, strict=True):
        text = _text_of(spec, value)
        if not fixed:
            text = _delimited(spec, text, payee, _label(item))
        data = _pad(spec, item, _encode(spec, text, payee, _label(item)), payee, _label(item))
        parts.append(data)
    ending = LINE_ENDINGS[spec.file_format.line_ending].encode("ascii")
    joiner = b"" if fixed else _encode(spec, delimiter_of(spec.file_format), None, _("delimiter"))
    return joiner.join(parts) + ending


def _render_text(spec: Spec, payees, *, month, today) -> bytes:
    total = sum((p.amount for p in payees), Decimal("0"))
    summary = {"records": len(payees), "total": total, "month": month, "today": today}
    lines = []
    if spec.header:
        lines.append(_text_line(spec, spec.header, [_summary_value(f, **summary) for f in spec.header], None))
    if spec.file_format.title_row:
        lines.append(_text_line(spec, spec.columns, [clean_text(c.title) for c in spec.columns], None))
    for sequence, payee in enumerate(payees, 1):
        lines.append(_text_line(spec, spec.columns, [_payee_value(c, payee, sequence) for c in spec.columns], payee))
    if spec.trailer:
        lines.append(_text_line(spec, spec.trailer, [_summary_value(f, **summary) for f in spec.trailer], None))
    return b"".join(lines)


def amount_number_format(spec: Spec) -> str:
    if spec.file_format.amount_unit == BankFileFormat.AmountUnit.FEN or not spec.file_format.amount_decimals:
        return "0"
    return "0." + "0" * spec.file_format.amount_decimals


def _sheet_value(spec: Spec, cell, value, *, text_cell: bool):
    """Put a value in a cell by its kind; an empty value leaves the cell empty (None)."""
    if value is None or value == "":
        return
    if isinstance(value, Decimal):
        if spec.file_format.amount_unit == BankFileFormat.AmountUnit.FEN:
            cell.value = int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
        else:
            cell.value = value.quantize(Decimal(1).scaleb(-spec.file_format.amount_decimals), rounding=ROUND_HALF_UP)
        cell.number_format = amount_number_format(spec)
        return
    if isinstance(value, int):
        cell.value = value
        return
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", neutralise(str(value)))
    cell.data_type = "s"
    if text_cell:
        cell.number_format = "@"


def _render_sheet(spec: Spec, payees, *, month, today) -> bytes:
    fmt = spec.file_format
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = ILLEGAL_CHARACTERS_RE.sub("", fmt.sheet_name or "Sheet1")[:31] or "Sheet1"
    total = sum((p.amount for p in payees), Decimal("0"))
    summary = {"records": len(payees), "total": total, "month": month, "today": today}
    first = fmt.first_data_row or (2 if fmt.title_row else 1)
    if fmt.title_row:
        for index, column in enumerate(spec.columns, 1):
            _sheet_value(spec, sheet.cell(first - 1, index), clean_text(column.title), text_cell=False)
    for row, (sequence, payee) in enumerate(enumerate(payees, 1), first):
        for index, column in enumerate(spec.columns, 1):
            value = _payee_value(column, payee, sequence)
            _sheet_value(spec, sheet.cell(row, index), value, text_cell=column.field in TEXT_CELL_FIELDS)
    for field in (*spec.header, *spec.trailer):
        column_letter, row_number = coordinate_from_string(field.cell)
        value = _summary_value(field, **summary)
        _sheet_value(spec, sheet[f"{column_letter}{row_number}"], value, text_cell=field.kind in (Kind.DATE, Kind.MONTH))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render_files(spec: Spec, payees: list[Payee], *, stem: str, month: datetime.date, today: datetime.date) -> list[RenderedFile]:
    """The format's files for these payees: one, or numbered parts of at most max_records each."""
    payees = list(payees)
    size = spec.file_format.max_records or max(len(payees), 1)
    chunks = [payees[i:i + size] for i in range(0, len(payees), size)] or [[]]
    render = _render_sheet if spec.file_format.file_type == FileType.XLSX else _render_text
    files = []
    for number, chunk in enumerate(chunks, 1):
        name = f"{stem}.{spec.extension}" if len(chunks) == 1 else f"{stem}_{number:02d}.{spec.extension}"
        files.append(RenderedFile(
            name=name, content=render(spec, chunk, month=month, today=today), records=len(chunk),
            total=sum((p.amount for p in chunk), Decimal("0")), payees=tuple(chunk),
        ))
    return files
