# Idempotency-Key's work this session (issue 17): the keys of idempotent API writes with their
# first answers (core.idempotency), and when each API token was last used (core.tokens).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_job_file"),
        ("knox", "0009_extend_authtoken_field"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiTokenUse",
            fields=[
                ("token", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="use", serialize=False, to=settings.KNOX_TOKEN_MODEL, verbose_name="token")),
                ("last_used_at", models.DateTimeField(verbose_name="last used")),
            ],
            options={
                "verbose_name": "API token use",
                "verbose_name_plural": "API token uses",
                "ordering": ["-last_used_at"],
            },
        ),
        migrations.CreateModel(
            name="IdempotencyKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scope", models.CharField(max_length=64, verbose_name="endpoint")),
                ("key", models.CharField(max_length=255, verbose_name="idempotency key")),
                ("fingerprint", models.CharField(max_length=64, verbose_name="request digest")),
                ("status", models.CharField(choices=[("in_progress", "Being handled"), ("done", "Done")], default="in_progress", max_length=12, verbose_name="status")),
                ("locked_until", models.DateTimeField(blank=True, null=True, verbose_name="held until")),
                ("response_status", models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="answer status")),
                ("response_body", models.JSONField(blank=True, null=True, verbose_name="answer")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                ("expires_at", models.DateTimeField(db_index=True, verbose_name="kept until")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="user")),
            ],
            options={
                "verbose_name": "idempotency key",
                "verbose_name_plural": "idempotency keys",
                "ordering": ["-created_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(fields=("user", "scope", "key"), name="idempotency_key_once"),
                    models.CheckConstraint(condition=models.Q(("status", "in_progress"), ("response_status__isnull", False), _connector="OR"), name="idempotency_done_has_answer"),
                ],
            },
        ),
    ]
