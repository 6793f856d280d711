"""What every engine shares: the upload and the run's context, the outcome, and how a row's
values are read (`clean_values`) and kept when rejected (`rejected_raw`)."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from clinics.models import Facility
from clinics.settlements.spec import CODE_FIELDS, DATE_FIELDS, FIELDS, SIGNED_AMOUNTS
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

    loaded_codes: dict | None = None

    def codes(self) -> dict[str, frozenset[str]]:
        """The enabled codes of every dictionary-checked field, read once for the whole upload (one
        query; every engine of the upload, the lane's child included, sees the same codes)."""
        if self.loaded_codes is None:
            from clinics.settlements import dictionaries
            from clinics.settlements.rules import CODED_FIELDS

            loaded = dictionaries.load()
            self.loaded_codes = {name: loaded.codes(name) for name in (*CODED_FIELDS, "med_type")}
        return self.loaded_codes


def legacy_clr_type(codes: dict) -> bool:
    """Whether an old Cunyi row's clr_type 14 is read as med_type 14 + clr_type 11: when 14 is no
    enabled clearing category and is an enabled medical category (the shipped dictionaries)."""
    return LEGACY_CLR_TYPE not in codes.get("clr_type", ()) and LEGACY_CLR_TYPE in codes.get("med_type", ())


@dataclass
class IngestOutcome:
    total: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    warned: int = 0  # accepted rows breaking an unconfirmed amount relation (SettlementImportWarning)


MIDNIGHT = " 00:00:00"  # a date written as 2207 samples write it: "1985-06-15 00:00:00"
LEGACY_CLR_TYPE = "14"  # Cunyi's old clr_type 14: the platform's med_type 14 (门诊慢特病), cleared as 11


def is_zero(text: str) -> bool:
    return bool(text) and text.strip("0") in ("", ".") and text.count(".") <= 1 and text[:1] != "."


def clean_values(values: dict, legacy_clr_type: bool = False) -> dict:
    """A row's values as every engine reads them: trimmed (str.strip(): spec.BLANKS), and the
    codes written in ASCII where an input method typed full-width digits or letters (NFKC first,
    then trimmed: `normalize_code`). The SQL engine does the same in SQL (`sql_engine.clean_sql`).

    Then, as every engine reads them too:
    - a date of birth "1985-06-15 00:00:00" is the date 1985-06-15;
    - a reversal (init_setl_id given) whose payments (spec.SIGNED_AMOUNTS) are all negative or zero,
      as 2208 answers, is read with them positive: the log keeps reversals positive and counts them
      negatively (a reversal with mixed signs keeps them, and the negative one is refused);
    - with `legacy_clr_type` (clr_type 14 is no enabled clearing category, med_type 14 is a medical
      category): a row of an old Cunyi file with clr_type 14 and no med_type is read as med_type 14,
      clr_type 11, as migration 0013 carried the stored rows."""
    text = {}
    for name in FIELDS:
        value = values.get(name)
        value = "" if value is None else str(value)
        text[name] = normalize_code(value) if name in CODE_FIELDS and not value.isascii() else value.strip()
    for name in DATE_FIELDS:
        if text[name].endswith(MIDNIGHT):
            text[name] = text[name][: -len(MIDNIGHT)]
    if text["init_setl_id"]:
        signed = [text[a] for a in SIGNED_AMOUNTS if text[a]]
        if any(v.startswith("-") for v in signed) and all(v.startswith("-") or is_zero(v) for v in signed):
            for a in SIGNED_AMOUNTS:
                if text[a].startswith("-"):
                    text[a] = text[a][1:]
    if legacy_clr_type and text["clr_type"] == LEGACY_CLR_TYPE and not text["med_type"]:
        text["clr_type"], text["med_type"] = "11", LEGACY_CLR_TYPE
    return text


def rejected_raw(text: dict) -> dict:
    """What a rejected row keeps of its values: the non-empty ones, with the ID number masked as the
    log masks it (`mask_id_number`), so no full ID number is stored or offered for download."""
    raw = {k: v for k, v in text.items() if v}
    if raw.get("certno"):
        raw["certno"] = mask_id_number(raw["certno"])
    return raw
