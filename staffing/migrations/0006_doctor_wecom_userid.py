# The doctor's WeChat Work (企业微信) user id on the register: blank for every existing doctor.

import django.db.models.functions.text
import notifications.wecom
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('staffing', '0005_rehash_id_numbers_with_hash_key'),
    ]

    operations = [
        migrations.AddField(
            model_name='doctor',
            name='wecom_userid',
            field=models.CharField(blank=True, help_text="The doctor's UserID in the county's WeChat Work (企业微信); notifications go there too when set.", max_length=64, validators=[notifications.wecom.validate_wecom_userid], verbose_name='WeChat Work user ID'),
        ),
        migrations.AddConstraint(
            model_name='doctor',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('wecom_userid'), condition=models.Q(('wecom_userid', ''), _negated=True), name='doctor_wecom_userid_unique', violation_error_message='Another doctor already has this WeChat Work user ID.'),
        ),
    ]
