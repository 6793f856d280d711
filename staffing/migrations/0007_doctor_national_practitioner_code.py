# Doctor.insurance_code is the 国家医保医师代码 (C20 at the platform): at most 20 characters, ASCII
# letters and digits, upper case. Stored codes are written NFKC + upper case first; a code that
# cannot be kept that way (over 20 characters, other characters, or two doctors' codes that become
# one) stops the migration with the doctors to correct, rather than being cut or dropped.

import re
import unicodedata

from django.db import migrations, models

CODE = re.compile(r"[A-Z0-9]{1,20}")


def normalise_codes(apps, schema_editor):
    doctor = apps.get_model("staffing", "Doctor")
    alias = schema_editor.connection.alias
    problems, seen, changed = [], {}, []
    for pk, code in doctor.objects.using(alias).exclude(insurance_code__isnull=True).values_list("pk", "insurance_code"):
        new = unicodedata.normalize("NFKC", code).strip().upper() or None
        if new is not None and not CODE.fullmatch(new):
            problems.append(f"doctor {pk}: {code!r} is not 1-20 ASCII letters and digits")
            continue
        if new is not None and new in seen:
            problems.append(f"doctors {seen[new]} and {pk}: {code!r} is the same code as theirs in upper case")
            continue
        if new is not None:
            seen[new] = pk
        if new != code:
            changed.append((pk, new))
    if problems:
        raise RuntimeError(
            "Correct these national insurance practitioner codes (国家医保医师代码) in admin, then migrate again: "
            + "; ".join(problems)
        )
    for pk, new in changed:
        doctor.objects.using(alias).filter(pk=pk).update(insurance_code=new)


class Migration(migrations.Migration):

    dependencies = [
        ("staffing", "0006_doctor_wecom_userid"),
    ]

    operations = [
        migrations.RunPython(normalise_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="doctor",
            name="insurance_code",
            field=models.CharField(
                blank=True,
                error_messages={"unique": "Another doctor already has this national insurance practitioner code."},
                help_text=(
                    "The 国家医保医师代码 the medical-insurance platform gave the doctor (up to 20 letters and digits, "
                    "for example D451028000001): settlements name the attending doctor by it (atddr_no)."
                ),
                max_length=20,
                null=True,
                unique=True,
                verbose_name="national insurance practitioner code",
            ),
        ),
    ]
