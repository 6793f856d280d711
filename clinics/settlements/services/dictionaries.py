"""Upkeep of the platform's code dictionaries (`PlatformCode`): county reference data, so only a
county-wide role (the county admin, the insurance clerk) adds, changes or removes a code; every
change is audited.

- A code's dictionary and code are fixed once it exists (settlements are recorded with it);
  its name, enabled flag, source and note change. A code an admin adds is a local addition.
- Disabling a code makes uploads carrying it rejected from the next upload on; recorded
  settlements keep it.
- Deleting is for a local code entered by mistake and not used by any recorded settlement; a
  shipped code, or one that settlements use, is disabled instead."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from clinics.scoping import require_county_wide
from clinics.settlements.models import PlatformCode, SettlementMonthStat, SettlementRecord
from core.audit import audit_record, changed_fields, snapshot

FIELDS = ["dictionary", "code", "name", "enabled", "local", "source", "note"]
EDITABLE = {"name", "enabled", "source", "note"}
# The rollup has a line for every recorded settlement's insutype and clr_type: asking it is cheap
# where the log (partitioned, millions of rows) has no index on these columns.
ROLLUP_FIELDS = {"insutype", "clr_type"}


def code_in_use(entry: PlatformCode) -> bool:
    """True when a recorded settlement carries this code in its dictionary's field."""
    field = entry.dictionary
    if field in ROLLUP_FIELDS:
        return SettlementMonthStat.objects.filter(**{field: entry.code}).exists()
    if field not in {f.name for f in SettlementRecord._meta.get_fields()}:
        return False  # the log does not keep this dictionary's field
    return SettlementRecord.objects.filter(**{field: entry.code}).exists()


def platform_code_delete_refusal(entry: PlatformCode) -> str:
    """Why `entry` may not be deleted ("" when it may)."""
    if not entry.local:
        return _("A shipped platform code is not deleted; disable it instead.")
    if code_in_use(entry):
        return _("Recorded settlements use code %(code)s; disable it instead of deleting it.") % {"code": entry.code}
    return ""


@transaction.atomic
def platform_code_save(*, entry: PlatformCode, acting_user, **changes) -> PlatformCode:
    """Add a local code or change a code's name, enabled flag, source or note (county-wide only)."""
    require_county_wide(acting_user, what=_("Changing the platform code dictionaries"))
    stored = PlatformCode.objects.select_for_update().get(pk=entry.pk) if entry.pk is not None else None
    for key, value in changes.items():
        if key not in EDITABLE | ({"dictionary", "code"} if stored is None else set()):
            raise ValueError(f"unknown or fixed platform code field {key}")
        setattr(entry, key, value)
    if stored is None:
        entry.local = True
    else:
        if (entry.dictionary, entry.code, entry.local) != (stored.dictionary, stored.code, stored.local):
            raise ValidationError(
                _("A platform code's dictionary and code cannot change; add the new code and disable this one."),
                code="platform_code_fixed",
            )
    entry.full_clean()
    entry.save()
    if stored is None:
        audit_record(actor=acting_user, action="platform_code.create", target=entry, changes=snapshot(entry, FIELDS))
    elif diff := changed_fields(snapshot(stored, FIELDS), snapshot(entry, FIELDS)):
        audit_record(actor=acting_user, action="platform_code.update", target=entry, changes=diff)
    return entry


@transaction.atomic
def platform_code_delete(*, entry: PlatformCode, acting_user) -> None:
    """Remove a local code nobody uses (county-wide only), audited."""
    require_county_wide(acting_user, what=_("Changing the platform code dictionaries"))
    entry = PlatformCode.objects.select_for_update().get(pk=entry.pk)
    refusal = platform_code_delete_refusal(entry)
    if refusal:
        raise ValidationError(refusal, code="platform_code_in_use")
    audit_record(actor=acting_user, action="platform_code.delete", target=entry, changes=snapshot(entry, FIELDS))
    entry.delete()
