# Patient identity keys are now keyed on HASH_KEY (core.hashing) instead of SECRET_KEY: recompute
# the stored ones so the no-overlap rule keeps finding patients booked before the change.

from django.db import migrations


def rehash(apps, schema_editor):
    from telemedicine.services.patients import patient_keys_rehash

    patient_keys_rehash(booking_model=apps.get_model("telemedicine", "ConsultBooking"))


class Migration(migrations.Migration):
    dependencies = [("telemedicine", "0004_translation_contexts")]

    operations = [migrations.RunPython(rehash, migrations.RunPython.noop)]
