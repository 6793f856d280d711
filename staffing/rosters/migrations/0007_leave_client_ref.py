# The phone's id of a leave request, so a request queued offline and sent again is stored once.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rosters", "0006_feed_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="leaverequest",
            name="client_ref",
            field=models.CharField(
                blank=True, default="", editable=False, max_length=64, verbose_name="request id on the phone"
            ),
        ),
        migrations.AddConstraint(
            model_name="leaverequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("client_ref", ""), _negated=True),
                fields=("doctor", "client_ref"),
                name="leave_client_ref_once_per_doctor",
            ),
        ),
    ]
