# Channels become a registry: per-channel preference rows (filled from the two switches in 0005,
# which 0006 then drops), the outbox's channel choices read from the registry (a new channel needs no
# migration), and the two outbox fields that keep a WeChat Work message from going out twice.

import django.db.models.deletion
import notifications.registry
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0003_bank_account_changed_kind'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='notification',
            name='external_id',
            field=models.CharField(blank=True, editable=False, help_text="WeChat Work's msgid.", max_length=64, verbose_name="channel's message id"),
        ),
        migrations.AddField(
            model_name='notification',
            name='handed_over_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='handed to the channel'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='channel',
            field=models.CharField(choices=notifications.registry.channel_choices, max_length=10, verbose_name='channel'),
        ),
        migrations.CreateModel(
            name='ChannelPreference',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('channel', models.CharField(choices=notifications.registry.channel_choices, max_length=10, verbose_name='channel')),
                ('enabled', models.BooleanField(verbose_name='switched on')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='channel_preferences', to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'channel preference',
                'verbose_name_plural': 'channel preferences',
                'ordering': ['user_id', 'channel'],
                'constraints': [models.UniqueConstraint(fields=('user', 'channel'), name='channel_preference_once_per_user')],
            },
        ),
    ]
