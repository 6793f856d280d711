"""Turning any response (HTML, JSON, CSV, XLSX, ZIP, iCalendar) into text to search for markers."""

import io
import zipfile

from openpyxl import load_workbook


def _xlsx_text(data: bytes) -> str:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(
        "\t".join("" if v is None else str(v) for v in row) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
    )


def bytes_text(data: bytes, content_type: str = "") -> str:
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "xl/workbook.xml" in names:
                return _xlsx_text(data)
            return "\n".join(bytes_text(archive.read(name)) for name in names)
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def response_text(response) -> str:
    data = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return bytes_text(data, response.get("Content-Type", ""))


def leaks(text: str, markers) -> list[str]:
    return [m for m in markers if m in text]
