"""Every existing preference's two switches become ChannelPreference rows, on or off as they were
(a default left untouched is written too, so nothing depends on the defaults staying as they are).
Backwards, the rows set the two switches again."""

from django.db import migrations

SWITCHES = {"email": "email_enabled", "sms": "sms_enabled"}


def carry_forward(apps, schema_editor):
    NotificationPreference = apps.get_model("notifications", "NotificationPreference")
    ChannelPreference = apps.get_model("notifications", "ChannelPreference")
    rows = [
        ChannelPreference(user_id=preference.user_id, channel=channel, enabled=getattr(preference, field))
        for preference in NotificationPreference.objects.only("user_id", *SWITCHES.values()).iterator()
        for channel, field in SWITCHES.items()
    ]
    ChannelPreference.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def carry_back(apps, schema_editor):
    NotificationPreference = apps.get_model("notifications", "NotificationPreference")
    ChannelPreference = apps.get_model("notifications", "ChannelPreference")
    for channel, field in SWITCHES.items():
        for enabled in (True, False):
            users = ChannelPreference.objects.filter(channel=channel, enabled=enabled).values("user_id")
            NotificationPreference.objects.filter(user_id__in=users).update(**{field: enabled})


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_channel_preferences")]

    operations = [migrations.RunPython(carry_forward, carry_back)]
