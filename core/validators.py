"""Validators for Chinese identifiers, with messages in Chinese that say what to fix."""

import datetime
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from core.masking import mask_id_number  # noqa: F401 - the one ID mask, also read from here

MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
# Codes (clinic and township codes, insurance practitioner codes): ASCII letters, digits and - _ . /
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)


def normalize_code(value) -> str:
    """NFKC, then trim: full-width digits and letters an input method slipped in (１２３, Ｘ) become
    ASCII, so one person or code cannot be stored twice in two spellings. Validators call it first;
    anything still outside ASCII is then refused by the validator's own pattern."""
    return unicodedata.normalize("NFKC", value or "").strip()


def _is_chinese(char: str) -> bool:
    return unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH")


def validate_code(value, *, allow_chinese: bool = False) -> str:
    """A code a user types (clinic, township or practitioner code; a licence number with
    ``allow_chinese``): NFKC first, so a full-width １２３ is stored as 123; then only ASCII letters,
    digits and - _ . / (and Chinese characters where a certificate number has them). Returns it
    normalised; an empty value stays empty."""
    value = normalize_code(value)
    if not value:
        return ""
    allowed = CODE_RE.fullmatch(value) if not allow_chinese else all(
        (char.isascii() and (char.isalnum() or char in "._/-")) or _is_chinese(char) for char in value
    )
    if not allowed:
        if allow_chinese:
            message = _(
                "Use only digits, Latin letters, Chinese characters and - _ . / here (no spaces, no full-width "
                "or other symbols); retype the number as printed on the certificate."
            )
        else:
            message = _(
                "A code has only ASCII digits, Latin letters and - _ . / (no spaces, no Chinese or full-width "
                "characters); switch the input method to half-width and retype it."
            )
        raise ValidationError(message, code="code_format")
    return value


def validate_birth_date(value: datetime.date | None, *, today: datetime.date | None = None) -> datetime.date | None:
    """Refuse a birth date that cannot be right: after today, or before 1900."""
    if not isinstance(value, datetime.date):
        return value  # empty, or not a date at all: the date field's own validation says so
    today = today or timezone.localdate()
    if value > today:
        # The teleconsult form's message since its first version (translated: 出生日期不能晚于今天。)
        raise ValidationError(_("The birth date cannot be in the future."), code="birth_future")
    if value < EARLIEST_BIRTH_DATE:
        raise ValidationError(
            _("The birth date %(date)s is before 1900; check the year (four digits, for example 1968).")
            % {"date": value.isoformat()},
            code="birth_too_early",
        )
    return value


def validate_resident_id(value: str) -> str:
    """GB 11643-1999: 17 digits and an ISO 7064 MOD 11-2 check character; returns it normalised
    (NFKC, so full-width digits become ASCII; the check character X in upper case)."""
    value = normalize_code(value).upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        raise ValidationError(
            _("A resident ID number has 18 characters: 17 digits and a digit or X at the end."), code="id_format"
        )
    # python-stdnum's full validate() also rejects a region code for birth years before the code
    # existed (451028 dates from 2002), but a number keeps the code of where it was issued, so a
    # Leye doctor born in 1980 may rightly hold 451028…: check the date and the check character.
    try:
        born = ric.get_birth_date(value)
    except StdnumError as exc:
        raise ValidationError(
            _("The resident ID number contains an invalid birth date (digits 7–14)."), code="id_invalid"
        ) from exc
    if born > timezone.localdate():
        raise ValidationError(
            _("The birth date in the resident ID number (digits 7–14) is in the future; check the number."),
            code="id_birth_future",
        )
    if born < EARLIEST_BIRTH_DATE:
        raise ValidationError(
            _("The birth date in the resident ID number (digits 7–14) is before 1900; check the number."),
            code="id_birth_too_early",
        )
    if ric.calc_check_digit(value) != value[-1]:
        raise ValidationError(
            _("The resident ID number's check character is wrong; check the number for a typo."),
            code="id_checksum",
        )
    return value


def resident_id_birth_date(value: str) -> datetime.date:
    return datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def resident_id_sex(value: str) -> str:
    """"M" when the 17th digit is odd, "F" when even."""
    return "M" if int(value[16]) % 2 else "F"


def resident_id_check_char(first17: str) -> str:
    # stdnum expects the full 18-character number and ignores its last character.
    return ric.calc_check_digit(first17 + "0")


def validate_mobile(value: str) -> str:
    """An 11-digit mainland mobile number; returns it normalised (NFKC: full-width digits become ASCII)."""
    value = normalize_code(value)
    if not MOBILE_RE.fullmatch(value):
        raise ValidationError(
            _("A mobile number has 11 digits and starts with 13–19, for example 13800000000."), code="mobile"
        )
    return value


def mask_account(value: str) -> str:
    if not value:
        return ""
    return f"****{value[-4:]}" if len(value) > 4 else "*" * len(value)


def mask_mobile(value: str) -> str:
    if not value:
        return ""
    return f"{value[:3]}****{value[-4:]}" if len(value) >= 8 else "*" * len(value)
