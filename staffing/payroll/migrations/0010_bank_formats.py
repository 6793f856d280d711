# Schema of issue 14's "bank" part (owned by that part; a linear chain so parallel work never conflicts).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payroll", "0009_line_funding_guard")]

    operations = []
