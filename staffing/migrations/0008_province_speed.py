"""Indexes for the province-scale doctor list (issue 18)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("staffing", "0007_doctor_national_practitioner_code")]

    operations = [
        # The doctor admin list's order (name, id) read from an index, not sorted.
        migrations.AddIndex(
            model_name="doctor",
            index=models.Index(fields=["name", "id"], name="doctor_list_order"),
        ),
    ]
