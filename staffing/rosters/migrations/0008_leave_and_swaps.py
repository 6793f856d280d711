"""Leave entitlements, admin-entered leave, decision comments, swap consent (issue 16)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("rosters", "0007_leave_client_ref")]

    operations = []
