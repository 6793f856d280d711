"""The platform's code dictionaries as ingest, admin and reports read them.

`DICTIONARY_FIELDS` maps each upload field checked against a dictionary to its dictionary key
(`PlatformCode.Dictionary`); the field names are the platform's own, so here they equal the keys.
Every function also takes a dictionary key directly (`mdtrt_cert_type`, `psn_setlway`: kept as
dictionaries, not checked on upload).

Nothing is cached between calls: a code an admin disables is refused by the next upload, in every
process. Each call of `codes`/`names`/`code_name` is one small query; a caller that needs several
dictionaries at once (one upload) takes one `load()` — one query for all the dictionaries (about a
hundred short rows) — and asks it, which also gives one consistent view of every dictionary.

Codes are compared as stored: NFKC-normalised, upper case (`models.platform_code_value`)."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from clinics.settlements.models import PlatformCode, platform_code_value

Dictionary = PlatformCode.Dictionary

# Upload field → dictionary key: the fields the settlement rules check.
DICTIONARY_FIELDS: dict[str, str] = {
    "insutype": Dictionary.INSUTYPE.value,
    "med_type": Dictionary.MED_TYPE.value,
    "clr_type": Dictionary.CLR_TYPE.value,
    "psn_type": Dictionary.PSN_TYPE.value,
    "clr_way": Dictionary.CLR_WAY.value,
    "psn_cert_type": Dictionary.PSN_CERT_TYPE.value,
}
DICTIONARIES: tuple[str, ...] = tuple(Dictionary.values)


def dictionary_key(field: str) -> str:
    """The dictionary of an upload field, or the key itself; an unknown name is a programming
    error (KeyError), not an empty dictionary that would refuse every value."""
    if field in DICTIONARY_FIELDS:
        return DICTIONARY_FIELDS[field]
    if field in DICTIONARIES:
        return field
    raise KeyError(f"no platform dictionary for {field!r}")


def dictionary_label(field: str) -> str:
    """The dictionary's name in the active language (医疗类别 for med_type)."""
    return gettext(Dictionary(dictionary_key(field)).label)


def normalize(code) -> str | None:
    """A value as the dictionaries store codes, or None when it cannot be a code at all."""
    try:
        return platform_code_value(code)
    except (ValidationError, TypeError):  # not a code, or not text at all
        return None


@dataclass(frozen=True)
class Dictionaries:
    """Every dictionary as read by one query: enabled codes, and names of all codes (disabled
    ones too, for showing what was recorded)."""

    enabled: dict[str, frozenset[str]]
    all_names: dict[str, dict[str, str]]

    def codes(self, field: str) -> frozenset[str]:
        return self.enabled.get(dictionary_key(field), frozenset())

    def names(self, field: str) -> dict[str, str]:
        return dict(self.all_names.get(dictionary_key(field), {}))

    def code_name(self, field: str, code) -> str:
        stored = normalize(code)
        return self.all_names.get(dictionary_key(field), {}).get(stored, "") if stored else ""

    def is_known(self, field: str, code) -> bool:
        """True when `code` (as received: it is normalised first) is an enabled code."""
        stored = normalize(code)
        return stored is not None and stored in self.codes(field)


def load() -> Dictionaries:
    """All dictionaries, one query."""
    enabled: dict[str, set[str]] = {key: set() for key in DICTIONARIES}
    names: dict[str, dict[str, str]] = {key: {} for key in DICTIONARIES}
    for dictionary, code, name, is_enabled in PlatformCode.objects.values_list("dictionary", "code", "name", "enabled"):
        names.setdefault(dictionary, {})[code] = name
        if is_enabled:
            enabled.setdefault(dictionary, set()).add(code)
    return Dictionaries(enabled={k: frozenset(v) for k, v in enabled.items()}, all_names=names)


def codes(field: str) -> frozenset[str]:
    """The enabled codes of `field`'s dictionary (as stored: normalised, upper case)."""
    key = dictionary_key(field)
    return frozenset(PlatformCode.objects.filter(dictionary=key, enabled=True).values_list("code", flat=True))


def names(field: str) -> dict[str, str]:
    """code → name of every code of `field`'s dictionary, disabled ones included."""
    key = dictionary_key(field)
    return dict(PlatformCode.objects.filter(dictionary=key).values_list("code", "name"))


def code_name(field: str, code) -> str:
    """The name of `code` in `field`'s dictionary ("" when it is not there), e.g. 门诊 for
    clr_type 11; disabled codes keep their name."""
    key = dictionary_key(field)
    stored = normalize(code)
    if stored is None:
        return ""
    return PlatformCode.objects.filter(dictionary=key, code=stored).values_list("name", flat=True).first() or ""


def code_display(field: str, code) -> str:
    """“11 门诊”, or the code alone when the dictionary does not know it."""
    name = code_name(field, code)
    return f"{code} {name}" if name else str(code or "")
