"""Mask the ID numbers that rejected settlement rows kept in full.

Until now a rejected row kept its values as received, the patient's full ID number (certno)
included, and the rejected-rows download offered it. Ingest now masks it as the log masks it
(`core.validators.mask_id_number`); this masks the rows stored before. Masking a masked
number changes nothing, so running it again is harmless; backwards it does nothing (the full
numbers are not kept anywhere to restore them)."""

from django.db import migrations

from core.validators import mask_id_number, normalize_code

BATCH = 2000


def mask_stored(apps, schema_editor):
    Rejected = apps.get_model("settlements", "RejectedSettlementRow")
    changed = []
    for row in Rejected.objects.filter(raw__has_key="certno").only("pk", "raw").iterator(chunk_size=BATCH):
        certno = row.raw.get("certno")
        masked = mask_id_number(normalize_code(str(certno))) if certno else ""
        if masked == certno:
            continue
        if masked:
            row.raw["certno"] = masked
        else:
            del row.raw["certno"]
        changed.append(row)
        if len(changed) == BATCH:
            Rejected.objects.bulk_update(changed, ["raw"])
            changed = []
    if changed:
        Rejected.objects.bulk_update(changed, ["raw"])


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0011_rollup_sums_never_overflow"),
    ]

    operations = [
        migrations.RunPython(mask_stored, migrations.RunPython.noop, elidable=True),
    ]
