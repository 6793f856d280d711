# The clinic's platform institution code (定点医药机构编号, "H" + 11 digits) beside its division code.
# Hand-written: a nullable unique column, so existing clinics stay without one until it is entered.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0002_auditentry_moved_to_core"),
    ]

    operations = [
        migrations.AddField(
            model_name="facility",
            name="platform_code",
            field=models.CharField(
                blank=True,
                error_messages={"unique": "Another clinic already has this platform institution code."},
                help_text=(
                    "定点医药机构编号 the national medical-insurance platform gave the clinic: H and 11 digits, digits 2–7 "
                    "the county's division code (H451028… in Leye). Uploads may name the clinic by either code."
                ),
                max_length=12,
                null=True,
                unique=True,
                verbose_name="platform institution code",
            ),
        ),
    ]
