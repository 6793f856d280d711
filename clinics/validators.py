"""Validators for Chinese identifiers, with messages in Chinese that say what to fix."""

import datetime
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalize_code(value) -> str:
    """NFKC, then trim: full-width digits and letters an input method slipped in (１２３, Ｘ) become
    ASCII, so one person or code cannot be stored twice in two spellings. Validators call it first;
    anything still outside ASCII is then refused by the validator's own pattern."""
    return unicodedata.normalize("NFKC", value or "").strip()


def validate_resident_id(value: str) -> str:
    """GB 11643-1999: 17 digits and an ISO 7064 MOD 11-2 check character; returns it normalised."""
    value = (value or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise ValidationError(
            _("A resident ID number has 18 characters: 17 digits and a digit or X at the end."), code="id_format"
        )
    # python-stdnum's full validate() also rejects a region code for birth years before the code
    # existed (451028 dates from 2002), but a number keeps the code of where it was issued, so a
    # Leye doctor born in 1980 may rightly hold 451028…: check the date and the check character.
    try:
        ric.get_birth_date(value)
    except StdnumError as exc:
        raise ValidationError(
            _("The resident ID number contains an invalid birth date (digits 7–14)."), code="id_invalid"
        ) from exc
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
    value = (value or "").strip()
    if not MOBILE_RE.fullmatch(value):
        raise ValidationError(
            _("A mobile number has 11 digits and starts with 13–19, for example 13800000000."), code="mobile"
        )
    return value


def mask_id_number(value: str) -> str:
    if not value:
        return ""
    return f"{value[:6]}********{value[-4:]}" if len(value) >= 10 else "*" * len(value)


def mask_account(value: str) -> str:
    if not value:
        return ""
    return f"****{value[-4:]}" if len(value) > 4 else "*" * len(value)


def mask_mobile(value: str) -> str:
    if not value:
        return ""
    return f"{value[:3]}****{value[-4:]}" if len(value) >= 8 else "*" * len(value)
