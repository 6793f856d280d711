# Placeholder of the offline leave queue's work this session (kept in the chain so parallel work does not conflict).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("rosters", "0006_feed_events"),
    ]

    operations = []
