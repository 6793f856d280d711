# Schema of issue 14's "policy" part (owned by that part; a linear chain so parallel work never conflicts).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payroll", "0011_tax_filing")]

    operations = []
