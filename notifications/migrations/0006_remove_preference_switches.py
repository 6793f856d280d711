# The switches live in ChannelPreference rows since 0005.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_carry_channel_switches")]

    operations = [
        migrations.RemoveField(model_name="notificationpreference", name="email_enabled"),
        migrations.RemoveField(model_name="notificationpreference", name="sms_enabled"),
    ]
