"""Reading and writing CSV and XLSX tables, shared by every import and export.

Files out: every value is written by kind (text, money, int, date, or inferred) and any text a
spreadsheet would run as a formula is neutralised here, so no caller can forget it.
Files in: every upload is bounded (bytes, rows, and for XLSX the zip's members, uncompressed size,
compression ratio, cells and shared strings) before a parser sees it.
"""

import csv
import datetime
import io
import re
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


class TableError(Exception):
    """The file as a whole cannot be read (wrong type, missing columns, bad encoding, too large)."""


@dataclass
class TableRow:
    number: int  # the row number a person sees in the file: the header is row 1
    values: dict


# --- Column kinds (files out) --------------------------------------------------------------------

AUTO = "auto"  # by the value's type: str → neutralised text, int/float/Decimal → number, date → date
TEXT = "text"  # codes: ID numbers, accounts, clinic and insurance codes, setl_id (leading zeros kept)
MONEY = "money"  # a number rounded half up to the cent, shown as #,##0.00
INT = "int"  # a whole number
DATE = "date"  # yyyy-mm-dd (a datetime: yyyy-mm-dd hh:mm:ss, Beijing time)
KINDS = (AUTO, TEXT, MONEY, INT, DATE)

TEXT_FORMAT = "@"
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Column:
    """A header with the kind of its cells: xlsx_bytes([Column("id_number", TEXT), ...], rows)."""

    title: str
    kind: str = AUTO

    def __str__(self) -> str:
        return str(self.title)


# OWASP "CSV injection": a cell starting with one of these is run as a formula (or DDE) by
# spreadsheet programs. Tab and CR are there because Excel drops them and reads what follows.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER_RE = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def neutralise(text: str) -> str:
    """The text a spreadsheet shows as it is: a leading formula character gets a single quote in
    front. A plain signed number (-12.50) is left alone: it cannot run anything."""
    if text and text.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER_RE.fullmatch(text):
        return "'" + text
    return text


def column_kinds(headers: Sequence, kinds: Mapping | Sequence | None = None) -> tuple[list[str], list[str]]:
    """Header titles and one kind per column. `kinds` is a sequence parallel to the headers or a
    mapping from header title to kind; a Column in `headers` carries its own kind."""
    titles = [str(h) for h in headers]
    result = [h.kind if isinstance(h, Column) else AUTO for h in headers]
    if isinstance(kinds, Mapping):
        unknown = [name for name in kinds if name not in titles]
        if unknown:
            raise ValueError(f"kinds name columns the table does not have: {unknown}")
        result = [kinds.get(title, kind) for title, kind in zip(titles, result, strict=True)]
    elif kinds is not None:
        if len(kinds) != len(titles):
            raise ValueError(f"{len(kinds)} kinds for {len(titles)} columns")
        result = list(kinds)
    bad = [k for k in result if k not in KINDS]
    if bad:
        raise ValueError(f"unknown column kinds: {bad}")
    return titles, result


def _local(value: datetime.datetime) -> datetime.datetime:
    """A naive Beijing time (spreadsheets have no time zones)."""
    if timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return _local(value).isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _as_money(value) -> Decimal | None:
    """A Decimal rounded half up to the cent, None for an empty cell; ValueError when not an amount."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("not an amount")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", ""))
        if not amount.is_finite():
            raise ValueError("not an amount")
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError("not an amount") from exc


def _as_int(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        if value != int(value):
            raise ValueError("not a whole number")
        return int(value)
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError("not a whole number")
    return int(text)


def _typed(value, kind: str):
    """The value a cell holds: str (already neutralised), int, float, Decimal, date, datetime,
    bool or None; a value that does not fit its declared kind is written as neutralised text."""
    try:
        if kind == MONEY:
            return _as_money(value)
        if kind == INT:
            return _as_int(value)
    except ValueError:
        return neutralise(_as_text(value))
    if kind == TEXT:
        return neutralise(_as_text(value))
    if value is None:
        return None
    if kind == DATE and isinstance(value, str):
        return neutralise(value) if value else None
    if isinstance(value, datetime.datetime):
        return _local(value)
    if isinstance(value, (bool, int, float, Decimal, datetime.date)):
        return value
    return neutralise(_as_text(value))


def _csv_cell(value, kind: str):
    typed = _typed(value, kind)
    if typed is None:
        return ""
    if isinstance(typed, datetime.datetime):
        return typed.isoformat(sep=" ")
    if isinstance(typed, datetime.date):
        return typed.isoformat()
    return typed


def csv_text(headers: Sequence, rows: Iterable[Iterable], kinds: Mapping | Sequence | None = None) -> str:
    """A CSV (UTF-8 with BOM, which Excel needs to read Chinese) with every cell written by kind:
    text neutralised (codes keep their leading zeros), money as 1234.50, dates as ISO."""
    titles, column_kind = column_kinds(headers, kinds)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(t) for t in titles])
    for row in rows:
        values = list(row)
        writer.writerow(
            [_csv_cell(v, column_kind[i] if i < len(column_kind) else AUTO) for i, v in enumerate(values)]
        )
    return "\ufeff" + buffer.getvalue()


class _XlsxCells:
    """Cells of one write-only sheet. A number format is set once per format on a template cell
    and its style shared (setting number_format on every cell doubled the time of an export)."""

    def __init__(self, sheet):
        self.sheet = sheet
        self.styles = {}

    def _style(self, number_format: str):
        if number_format not in self.styles:
            template = WriteOnlyCell(self.sheet)
            template.number_format = number_format
            self.styles[number_format] = template._style
        return self.styles[number_format]

    def cell(self, value, kind: str):
        typed = _typed(value, kind)
        if typed is None:
            return None
        cell = WriteOnlyCell(self.sheet)
        number_format = None
        if isinstance(typed, str):
            cell.value = ILLEGAL_CHARACTERS_RE.sub("", typed)  # a control character makes the file unreadable
            cell.data_type = "s"  # never a formula, nor an error value such as #N/A
            if kind == TEXT:
                number_format = TEXT_FORMAT
        else:
            cell.value = typed
            if kind == MONEY and isinstance(typed, Decimal):
                number_format = MONEY_FORMAT
            elif isinstance(typed, datetime.datetime):
                number_format = DATETIME_FORMAT
            elif isinstance(typed, datetime.date):
                number_format = DATE_FORMAT
        if number_format:
            cell._style = self._style(number_format)
        return cell


def xlsx_bytes(
    headers: Sequence, rows: Iterable[Iterable], sheet_title: str = "Sheet1", kinds: Mapping | Sequence | None = None
) -> bytes:
    """An XLSX workbook of one sheet, every cell written by kind: text as a string cell (format
    "@" for codes), never a formula; money as a number with format #,##0.00; dates as dates."""
    titles, column_kind = column_kinds(headers, kinds)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=ILLEGAL_CHARACTERS_RE.sub("", str(sheet_title))[:31] or "Sheet1")
    cells = _XlsxCells(sheet)
    sheet.append([cells.cell(t, AUTO) for t in titles])
    for row in rows:
        sheet.append([cells.cell(v, column_kind[i] if i < len(column_kind) else AUTO) for i, v in enumerate(row)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Upload limits (files in) --------------------------------------------------------------------

MIB = 1024 * 1024
LIMIT_DEFAULTS = {
    "UPLOAD_MAX_BYTES": 50 * MIB,
    "UPLOAD_MAX_ROWS": 500_000,
    "XLSX_MAX_CELLS": 200_000,
    "XLSX_MAX_UNCOMPRESSED_BYTES": 100 * MIB,
    "XLSX_MAX_COMPRESSION_RATIO": 100,
    "XLSX_MAX_MEMBERS": 500,
}
SCAN_CHUNK = 1 * MIB
MAX_TAG_BYTES = 1 * MIB  # a row or cell tag longer than this is no spreadsheet's doing
ROW_TAG_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>][^>]*")
ROW_NUMBER_RE = re.compile(rb'\sr\s*=\s*["\']([0-9]{1,12})["\']')
CELL_TAG_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
SHARED_STRING_TAG_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")


def upload_limit(name: str) -> int:
    """The limit `name` from settings (see config/settings.py "Uploads"), else its default."""
    return int(getattr(settings, name, LIMIT_DEFAULTS[name]))


def _megabytes(size: int) -> str:
    return f"{size / MIB:,.0f}"


def _refuse_rows(count: int) -> None:
    """Refuse `count` data rows (the header not counted) when over UPLOAD_MAX_ROWS."""
    limit = upload_limit("UPLOAD_MAX_ROWS")
    if count > limit:
        raise TableError(
            _("The file has more than %(limit)s rows; an upload may have at most %(limit)s rows (UPLOAD_MAX_ROWS). "
              "Split it into smaller files and upload them one by one.") % {"limit": f"{limit:,}"}
        )


def _check_size(size: int) -> None:
    limit = upload_limit("UPLOAD_MAX_BYTES")
    if size > limit:
        raise TableError(
            _("The file is %(size)s MB; an upload may be at most %(limit)s MB (UPLOAD_MAX_BYTES). "
              "Split it into smaller files and upload them one by one.")
            % {"size": f"{size / MIB:,.1f}", "limit": _megabytes(limit)}
        )


def _csv_record_count(data: bytes) -> int:
    """Data rows (records after the header) of a CSV: an upper bound from its line breaks first,
    and when that is over the limit, an exact count (a quoted cell may hold a line break)."""
    lines = max(data.count(b"\n"), data.count(b"\r"))
    if data and not data.endswith((b"\n", b"\r")):
        lines += 1
    if lines - 1 <= upload_limit("UPLOAD_MAX_ROWS"):
        return max(lines - 1, 0)
    text = _decode_csv(data)
    try:
        records = sum(1 for _row in csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return max(lines - 1, 0)  # unreadable CSV: the line count stands
    return max(records - 1, 0)


def _zip_entry_count(data: bytes) -> tuple[int, int]:
    """Members and central-directory size from the end record, read before zipfile parses the
    directory (a 50 MB file can declare a million members)."""
    pos = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if pos < 0 or pos + 22 > len(data):
        raise TableError(_("The file is not a readable XLSX workbook."))
    entries, cd_size = struct.unpack_from("<HI", data, pos + 10)
    if (entries == 0xFFFF or cd_size == 0xFFFFFFFF) and pos >= 20 and data[pos - 20 : pos - 16] == b"PK\x06\x07":
        (record,) = struct.unpack_from("<Q", data, pos - 20 + 8)
        if data[record : record + 4] == b"PK\x06\x06" and record + 56 <= len(data):
            entries, cd_size = struct.unpack_from("<QQ", data, record + 32)
    return entries, cd_size


def _count_tags(archive, info, tag: bytes, pattern: re.Pattern, with_rows: bool, limit_check, exact: bool) -> None:
    count = rows = max_row = 0
    tail = b""
    with archive.open(info) as stream:
        while True:
            chunk = stream.read(SCAN_CHUNK)
            if not chunk:
                break
            buffer = tail + chunk
            cut = buffer.rfind(b"<")
            if cut >= 0 and buffer.find(b">", cut) < 0:  # a tag cut in two: count it with the next chunk
                buffer, tail = buffer[:cut], buffer[cut:]
                if len(tail) > MAX_TAG_BYTES:
                    raise TableError(_("The file is not a readable XLSX workbook."))
            else:
                tail = b""
            if exact:
                count += len(pattern.findall(buffer))
            else:
                count += buffer.count(b"<" + tag) + buffer.count(b":" + tag)
            if with_rows:
                if exact:
                    for match in ROW_TAG_RE.finditer(buffer):
                        rows += 1
                        number = ROW_NUMBER_RE.search(match.group(0))
                        if number:
                            max_row = max(max_row, int(number.group(1)))
                else:
                    rows += buffer.count(b"<row") + buffer.count(b":row")
                    last = max(buffer.rfind(b"<row"), buffer.rfind(b":row"))
                    number = ROW_NUMBER_RE.search(buffer, last, buffer.find(b">", last)) if last >= 0 else None
                    if number:
                        max_row = max(max_row, int(number.group(1)))
            limit_check(count, max(rows, max_row))


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, tag: bytes, pattern: re.Pattern, with_rows: bool,
               limit_check) -> None:
    """Count the part's `tag` elements (and rows) while inflating it in chunks, without parsing;
    `limit_check(count, rows)` runs after each chunk and raises as soon as a limit is passed, so
    an oversized sheet is refused after inflating only as far as the limit.

    The first pass counts an upper bound with bytes.count ("<c" also counts <col>, ":c" a prefixed
    <x:c>); only a part that passes a limit on it is counted again exactly, tag by tag."""
    try:
        _count_tags(archive, info, tag, pattern, with_rows, limit_check, exact=False)
    except TableError:
        _count_tags(archive, info, tag, pattern, with_rows, limit_check, exact=True)


def _check_xlsx(data: bytes) -> None:
    max_members = upload_limit("XLSX_MAX_MEMBERS")
    entries, cd_size = _zip_entry_count(data)
    if entries > max_members or cd_size > max_members * 1024:
        raise TableError(
            _("The workbook holds %(count)s parts; an XLSX file may hold at most %(limit)s (XLSX_MAX_MEMBERS).")
            % {"count": f"{entries:,}", "limit": f"{max_members:,}"}
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        raise TableError(_("The file is not a readable XLSX workbook.")) from exc
    if len(members) > max_members:
        raise TableError(
            _("The workbook holds %(count)s parts; an XLSX file may hold at most %(limit)s (XLSX_MAX_MEMBERS).")
            % {"count": f"{len(members):,}", "limit": f"{max_members:,}"}
        )
    max_total = upload_limit("XLSX_MAX_UNCOMPRESSED_BYTES")
    total = sum(m.file_size for m in members)
    if total > max_total:
        raise TableError(
            _("Unpacked, the workbook is %(size)s MB; an XLSX file may unpack to at most %(limit)s MB "
              "(XLSX_MAX_UNCOMPRESSED_BYTES). Save the table as CSV (UTF-8) and upload that.")
            % {"size": _megabytes(total), "limit": _megabytes(max_total)}
        )
    max_ratio = upload_limit("XLSX_MAX_COMPRESSION_RATIO")
    for member in members:
        # Small parts compress well and weigh nothing; the ratio matters from 1 MB unpacked.
        if member.file_size > MIB and member.file_size > max_ratio * max(member.compress_size, 1):
            raise TableError(
                _("A part of the workbook (%(part)s) unpacks %(ratio)s times larger than it is stored; at most "
                  "%(limit)s times is allowed (XLSX_MAX_COMPRESSION_RATIO). Such a file is built to exhaust the "
                  "server, not saved by a spreadsheet program.")
                % {"part": member.filename[:80], "ratio": f"{member.file_size // max(member.compress_size, 1):,}",
                   "limit": max_ratio}
            )
    max_rows = upload_limit("UPLOAD_MAX_ROWS")
    max_cells = upload_limit("XLSX_MAX_CELLS")

    def sheet_check(cells: int, rows: int) -> None:
        _refuse_rows(rows - 1)  # row 1 is the header
        if cells > max_cells:
            raise TableError(
                _("A sheet of the workbook has more than %(limit)s filled cells (rows × columns, XLSX_MAX_CELLS). "
                  "Save a table this large as CSV (UTF-8), which may have up to %(rows)s rows.")
                % {"limit": f"{max_cells:,}", "rows": f"{max_rows:,}"}
            )

    def strings_check(count: int, _rows: int) -> None:
        if count > max_cells:
            raise TableError(
                _("The workbook's table of texts has more than %(limit)s entries, more than its cells can use "
                  "(XLSX_MAX_CELLS). Save the table as CSV (UTF-8) and upload that.") % {"limit": f"{max_cells:,}"}
            )

    try:
        for member in members:
            if member.filename.lower().endswith("sharedstrings.xml"):
                _scan_part(archive, member, b"si", SHARED_STRING_TAG_RE, False, strings_check)
            elif not member.is_dir():
                # Every other part is counted as a sheet: the workbook's relationships may place its
                # sheet anywhere, and cell and row tags occur in no other part.
                _scan_part(archive, member, b"c", CELL_TAG_RE, True, sheet_check)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise TableError(_("The file is not a readable XLSX workbook.")) from exc


def validate_upload_size(upload) -> None:
    """A form field validator: an uploaded file over UPLOAD_MAX_BYTES is refused by its declared
    size, before any view reads it into memory."""
    from django.core.exceptions import ValidationError

    try:
        _check_size(getattr(upload, "size", 0) or 0)
    except TableError as exc:
        raise ValidationError(str(exc), code="upload_limit") from exc


def enforce_upload_limits(data: bytes, filename: str) -> None:
    """Refuse (TableError, a Chinese message naming the setting) an upload over the limits in
    settings: UPLOAD_MAX_BYTES for every file; UPLOAD_MAX_ROWS for CSV and XLSX; and for XLSX,
    before any XML is parsed, XLSX_MAX_MEMBERS, XLSX_MAX_UNCOMPRESSED_BYTES,
    XLSX_MAX_COMPRESSION_RATIO (per part) and XLSX_MAX_CELLS (per sheet, and entries of the
    shared-strings table). Cheap: a 50 MB CSV is counted in tens of milliseconds; an XLSX is
    inflated once without parsing."""
    _check_size(len(data))
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        _check_xlsx(data)
    elif name.endswith((".csv", ".txt")):
        _refuse_rows(_csv_record_count(data))


# --- Reading -------------------------------------------------------------------------------------


# C0 control characters other than tab and line breaks carry nothing a person typed, and PostgreSQL
# refuses NUL in text (a 500 when the row is saved): every value read from a file loses them.
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")
_CONTROL[0x7F] = None


def clean_cell(text: str) -> str:
    return text.translate(_CONTROL).strip()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_cell(str(value))


def check_header(header: list[str], required: Iterable[str]) -> None:
    """Refuse a header that lacks a required column, or names a column twice (which of the two
    holds the values would be a guess)."""
    missing = [c for c in required if c not in header]
    if missing:
        raise TableError(_("The file is missing these columns: %(cols)s.") % {"cols": ", ".join(missing)})
    repeated = sorted(name for name, count in Counter(header).items() if name and count > 1)
    if repeated:
        raise TableError(
            _("These columns appear more than once: %(cols)s. Keep one column of each name and upload the file again.")
            % {"cols": ", ".join(repeated)}
        )


def _decode_csv(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError(_("The CSV file must be saved as UTF-8 or GB18030 text."))


def _unreadable_row(number: int) -> TableError:
    return TableError(
        _("Row %(row)s of the file cannot be read (a cell too long, a stray quote or a NUL character). "
          "Correct it and upload the file again.") % {"row": number}
    )


def _xlsx_rows(data: bytes) -> tuple[list[str], Iterator[list[str]]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.active
        # Read the rows the file holds, not the size it declares: the row limit is counted by
        # enforce_upload_limits and again below.
        sheet.reset_dimensions()
        first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
    except TableError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure means the same to the user
        raise TableError(_("The file is not a readable XLSX workbook.")) from exc
    header = [_cell_text(h) for h in first]
    while header and not header[-1]:
        header.pop()
    width = max(len(header), 1)

    def body():
        number = 1
        try:
            for row in sheet.iter_rows(min_row=2, max_col=width, values_only=True):
                number += 1
                yield number, [_cell_text(v) for v in row]
        except TableError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _unreadable_row(number + 1) from exc
        finally:
            workbook.close()

    return header, body()


def _csv_rows(data: bytes) -> tuple[list[str], Iterator[list[str]]]:
    text = _decode_csv(data)
    # newline="" lets the csv module see every line break: LF, CRLF, and the bare CR of Excel's
    # "CSV (Macintosh)" (which io.StringIO's default splitting left inside one long line).
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [clean_cell(h) for h in next(reader, [])]
    except csv.Error as exc:
        raise _unreadable_row(1) from exc

    def body():
        number = 1
        try:
            for row in reader:
                number += 1
                yield number, [clean_cell(v) for v in row]
        except csv.Error as exc:
            raise _unreadable_row(number + 1) from exc

    return header, body()


def read_table(upload, filename: str, required: Iterable[str]) -> tuple[list[str], Iterator[TableRow]]:
    """Open a CSV (UTF-8, with or without BOM, or GB18030; LF, CRLF or CR line breaks) or XLSX
    file (streamed, read-only) and check its header. The upload limits are enforced first
    (enforce_upload_limits); a row past UPLOAD_MAX_ROWS stops the reading with a TableError."""
    name = (filename or "").lower()
    if not name.endswith((".xlsx", ".csv", ".txt")):
        raise TableError(_("Upload a .csv or .xlsx file."))
    size = getattr(upload, "size", None)
    if isinstance(size, int):
        _check_size(size)  # an uploaded file says its size before it is read into memory
    data = upload.read() if hasattr(upload, "read") else upload
    enforce_upload_limits(data, name)
    header, body = _xlsx_rows(data) if name.endswith(".xlsx") else _csv_rows(data)
    check_header(header, required)
    max_rows = upload_limit("UPLOAD_MAX_ROWS")

    def rows_iter():
        for number, row in body:
            if number - 1 > max_rows:  # blank rows count too: a sheet can declare a million of them
                _refuse_rows(number - 1)
            if not any(row):
                continue
            padded = list(row) + [""] * (len(header) - len(row))
            yield TableRow(number=number, values=dict(zip(header, padded, strict=False)))

    return header, rows_iter()


def parse_date(text: str) -> datetime.date:
    text = (text or "").strip().replace("/", "-")
    if " " in text:
        text = text.split(" ", 1)[0]
    return datetime.date.fromisoformat(text)
