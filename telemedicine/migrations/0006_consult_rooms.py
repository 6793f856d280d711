# Placeholder of the consult queue and rooms's work this session (kept in the chain so parallel work does not conflict).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("telemedicine", "0005_rehash_patient_keys_with_hash_key"),
    ]

    operations = []
