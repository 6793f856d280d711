"""Data: every existing line with a funding source gets one funding row for its whole amount (the
single source lines had until now). Runs before the funding guard exists, so approved runs' lines
are filled too; reversing empties the table."""

from django.db import migrations

FORWARD = """
INSERT INTO payroll_paysliplinefunding (line_id, source, amount)
SELECT id, funding_source, amount FROM payroll_payslipline WHERE funding_source <> ''
"""
BACKWARD = "DELETE FROM payroll_paysliplinefunding"


class Migration(migrations.Migration):
    dependencies = [("payroll", "0007_payslip_line_funding")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
