"""Indexes and set-wise checks for province-scale rosters (issue 18)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("rosters", "0008_leave_and_swaps")]

    operations = [
        # The duty-day admin list's order: (date, duty, doctor) read from an index, not sorted.
        migrations.AddIndex(
            model_name="dutyday",
            index=models.Index(fields=["date", "duty", "doctor"], name="dutyday_list_order"),
        ),
    ]
