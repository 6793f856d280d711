"""What every engine shares: the upload and the run's context, the outcome, and how a row's
values are read (`clean_values`) and kept when rejected (`rejected_raw`)."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from clinics.models import Facility
from clinics.settlements.spec import CODE_FIELDS, FIELDS
from core.masking import mask_id_number
from core.validators import normalize_code


@dataclass
class RawCsv:
    """A CSV upload handed to COPY as it is: the bytes after the header line."""

    header: list[str]
    body: bytes
    encoding: str  # PostgreSQL's name: UTF8 or GB18030

    @property
    def codec(self) -> str:
        """Python's name of the encoding."""
        return "utf-8" if self.encoding == "UTF8" else "gb18030"


@dataclass
class IngestContext:
    batch_id: int
    own_facility: Facility | None = None  # an insurance terminal may only upload for this clinic
    is_demo: bool = False
    now: datetime.datetime = field(default_factory=timezone.now)


@dataclass
class IngestOutcome:
    total: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


def clean_values(values: dict) -> dict:
    """A row's values as every engine reads them: trimmed (str.strip(): spec.BLANKS), and the
    codes written in ASCII where an input method typed full-width digits or letters (NFKC first,
    then trimmed: `normalize_code`). The SQL engine does the same in SQL (`sql_engine.clean_sql`)."""
    text = {}
    for name in FIELDS:
        value = values.get(name)
        value = "" if value is None else str(value)
        text[name] = normalize_code(value) if name in CODE_FIELDS and not value.isascii() else value.strip()
    return text


def rejected_raw(text: dict) -> dict:
    """What a rejected row keeps of its values: the non-empty ones, with the ID number masked as the
    log masks it (`mask_id_number`), so no full ID number is stored or offered for download."""
    raw = {k: v for k, v in text.items() if v}
    if raw.get("certno"):
        raw["certno"] = mask_id_number(raw["certno"])
    return raw
