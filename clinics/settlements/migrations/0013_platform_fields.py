# Placeholder of the 2207 fields's work this session (kept in the chain so parallel work does not conflict).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0012_mask_rejected_certno"),
    ]

    operations = []
