# ID-number look-up hashes are now keyed on HASH_KEY (core.hashing) instead of SECRET_KEY:
# recompute the stored ones so look-ups keep finding them.

from django.db import migrations


def rehash(apps, schema_editor):
    from staffing.services.doctors import doctor_rehash_id_numbers

    doctor_rehash_id_numbers(doctor_model=apps.get_model("staffing", "Doctor"))


class Migration(migrations.Migration):
    dependencies = [("staffing", "0004_doctor_name_label")]

    operations = [migrations.RunPython(rehash, migrations.RunPython.noop)]
