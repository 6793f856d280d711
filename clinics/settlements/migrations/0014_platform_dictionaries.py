# The platform's code dictionaries (险种类型, 医疗类别, 清算类别, 人员类别, 清算方式, 人员证件类型,
# 就诊凭证类型, 个人结算方式) as a table, loaded with the core codes of
# ../shared/docs/insurance-platform.md §3a–3f (clinics.settlements.platform_codes). Hand-written.

from django.db import migrations, models


def load_shipped(apps, schema_editor):
    from clinics.settlements.platform_codes import ensure_shipped

    ensure_shipped(apps.get_model("settlements", "PlatformCode"), using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0013_platform_fields"),
    ]

    operations = [
        migrations.CreateModel(
            name="PlatformCode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "dictionary",
                    models.CharField(
                        choices=[
                            ("insutype", "insurance type"),
                            ("med_type", "medical category"),
                            ("clr_type", "clearing type"),
                            ("psn_type", "person category"),
                            ("clr_way", "clearing method"),
                            ("psn_cert_type", "person's certificate type"),
                            ("mdtrt_cert_type", "visit credential type"),
                            ("psn_setlway", "personal settlement method"),
                        ],
                        max_length=20,
                        verbose_name="dictionary",
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        help_text="As the platform sends it (C6): digits or letters.", max_length=6, verbose_name="code"
                    ),
                ),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                (
                    "enabled",
                    models.BooleanField(
                        default=True,
                        help_text="Uploads carrying a disabled code are rejected; recorded ones keep it.",
                        verbose_name="enabled",
                    ),
                ),
                (
                    "local",
                    models.BooleanField(
                        default=False,
                        help_text="Added for Guangxi (from the platform's 1901 dictionary download or the bureau), not shipped.",
                        verbose_name="local addition",
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        blank=True,
                        help_text="Where the code comes from: the source key of the platform document, or the bureau's notice.",
                        max_length=200,
                        verbose_name="source",
                    ),
                ),
                ("note", models.TextField(blank=True, verbose_name="note")),
            ],
            options={
                "verbose_name": "platform code",
                "verbose_name_plural": "platform codes",
                "ordering": ["dictionary", "code"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("dictionary", "code"),
                        name="settlements_platform_code_unique",
                        violation_error_message="This dictionary already has this code.",
                    )
                ],
            },
        ),
        migrations.RunPython(load_shipped, migrations.RunPython.noop),
    ]
