# A job's one private result file (issue 19: exports as jobs). The storage is a callable, so the
# migration holds no path: PRIVATE_FILES_DIR may differ per installation.

from django.db import migrations, models

import core.storage


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0002_job'),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='file',
            field=models.FileField(blank=True, max_length=300, storage=core.storage.private_storage, upload_to='jobs/', verbose_name='result file'),
        ),
        migrations.AddField(
            model_name='job',
            name='file_content_type',
            field=models.CharField(blank=True, max_length=100, verbose_name='file type'),
        ),
        migrations.AddField(
            model_name='job',
            name='file_expires_at',
            field=models.DateTimeField(blank=True, db_index=True, null=True, verbose_name='file kept until'),
        ),
        migrations.AddField(
            model_name='job',
            name='file_name',
            field=models.CharField(blank=True, max_length=200, verbose_name='file name'),
        ),
        migrations.AddField(
            model_name='job',
            name='file_size',
            field=models.PositiveBigIntegerField(blank=True, null=True, verbose_name='file size'),
        ),
    ]
