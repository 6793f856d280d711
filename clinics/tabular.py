"""Reading and writing CSV and XLSX tables, shared by every import and export."""

import csv
import datetime
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook


class TableError(Exception):
    """The file as a whole cannot be read (wrong type, missing columns, bad encoding)."""


@dataclass
class TableRow:
    number: int  # the row number a person sees in the file: the header is row 1
    values: dict


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


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


def read_table(upload, filename: str, required: Iterable[str]) -> tuple[list[str], Iterator[TableRow]]:
    """Open a CSV (UTF-8, with or without BOM, or GB18030) or XLSX file and check its header."""
    name = (filename or "").lower()
    data = upload.read() if hasattr(upload, "read") else upload
    if name.endswith(".xlsx"):
        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        except Exception as exc:
            raise TableError(_("The file is not a readable XLSX workbook.")) from exc
        rows = sheet.iter_rows(values_only=True)
        header = [_cell_text(h) for h in next(rows, [])]
        body = ([_cell_text(v) for v in row] for row in rows)
    elif name.endswith(".csv") or name.endswith(".txt"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise TableError(_("The CSV file must be saved as UTF-8 or GB18030 text."))
        reader = csv.reader(io.StringIO(text))
        header = [h.strip() for h in next(reader, [])]
        body = ([v.strip() for v in row] for row in reader)
    else:
        raise TableError(_("Upload a .csv or .xlsx file."))
    check_header(header, required)

    def rows_iter():
        for offset, row in enumerate(body, start=2):
            if not any(row):
                continue
            padded = list(row) + [""] * (len(header) - len(row))
            yield TableRow(number=offset, values=dict(zip(header, padded, strict=False)))

    return header, rows_iter()


def xlsx_bytes(headers: list[str], rows: Iterable[Iterable], sheet_title: str = "Sheet1") -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_text(headers: list[str], rows: Iterable[Iterable]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()


def parse_date(text: str) -> datetime.date:
    text = (text or "").strip().replace("/", "-")
    if " " in text:
        text = text.split(" ", 1)[0]
    return datetime.date.fromisoformat(text)
