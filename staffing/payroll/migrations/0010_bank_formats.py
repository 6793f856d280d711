# Schema of issue 14's "bank" part (owned by that part; a linear chain so parallel work never conflicts):
# bank file formats with their columns and header/trailer fields, the format of each paying bank,
# and payments the payroll officer marks as made outside the bank file.
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payroll", "0009_line_funding_guard"),
        ("staffing", "0006_doctor_wecom_userid"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BankFileFormat',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(help_text='A short ASCII name, used in file names: ABC, CCB, ICBC…', max_length=30, unique=True, verbose_name='code')),
                ('name', models.CharField(max_length=100, verbose_name='name')),
                ('file_type', models.CharField(choices=[('fixed', 'Text, fixed width'), ('delimited', 'Text, delimited'), ('xlsx', 'Spreadsheet (XLSX)')], max_length=10, verbose_name='file type')),
                ('encoding', models.CharField(choices=[('gbk', 'GBK'), ('utf-8', 'UTF-8')], default='gbk', help_text='For text files. Fixed widths are counted in bytes of this encoding (a Chinese character is 2 bytes in GBK).', max_length=10, verbose_name='encoding')),
                ('line_ending', models.CharField(choices=[('lf', 'LF (Unix, \\n)'), ('crlf', 'CR LF (Windows, \\r\\n)')], default='crlf', max_length=4, verbose_name='line ending')),
                ('delimiter', models.CharField(blank=True, help_text='For delimited text: for example | or , (\\t for a tab).', max_length=5, verbose_name='delimiter')),
                ('quote_char', models.CharField(blank=True, help_text='For delimited text: a value holding the delimiter is quoted with it. Empty: such a value is refused.', max_length=1, verbose_name='quote character')),
                ('title_row', models.BooleanField(default=False, help_text="Writes each column's title as the first row (sheets) or line (text).", verbose_name='column titles in the first row')),
                ('sheet_name', models.CharField(blank=True, max_length=31, verbose_name='sheet name')),
                ('first_data_row', models.PositiveSmallIntegerField(default=0, help_text='Sheets: the row number of the first payee (0: right after the titles, or row 1).', verbose_name='first data row')),
                ('amount_unit', models.CharField(choices=[('yuan', 'Yuan with a decimal point'), ('fen', 'Fen (cents), whole number without a point')], default='yuan', max_length=5, verbose_name='amount unit')),
                ('amount_decimals', models.PositiveSmallIntegerField(default=2, help_text='Digits after the point for amounts in yuan (ABC direct connect: 3).', verbose_name='amount decimals')),
                ('max_records', models.PositiveIntegerField(blank=True, help_text='More payees are split into numbered files. Empty: no limit.', null=True, verbose_name='maximum records per file')),
                ('file_extension', models.CharField(blank=True, help_text='Empty: txt for text files, xlsx for sheets.', max_length=10, verbose_name='file extension')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
                ('is_shipped', models.BooleanField(default=False, editable=False, verbose_name='shipped with Cunyi')),
            ],
            options={
                'verbose_name': 'bank file format',
                'verbose_name_plural': 'bank file formats',
                'ordering': ['code'],
                'constraints': [models.CheckConstraint(condition=models.Q(('amount_decimals__lte', 4)), name='payroll_bankformat_decimals_0_4', violation_error_message='An amount has at most 4 decimals.'), models.CheckConstraint(condition=models.Q(('max_records__isnull', True), ('max_records__gt', 0), _connector='OR'), name='payroll_bankformat_max_records_positive', violation_error_message='The maximum records per file must be positive (or empty).')],
            },
        ),
        migrations.CreateModel(
            name='PayingBank',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bank_name', models.CharField(max_length=50, unique=True, verbose_name='bank (as in the register)')),
                ('branch_code', models.CharField(blank=True, max_length=20, verbose_name='branch code (联行行号)')),
                ('purpose', models.CharField(blank=True, default='{year}年{month}月村医报酬', help_text='Text of the purpose column; {year} and {month} are replaced by the pay month.', max_length=60, verbose_name='purpose')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
                ('file_format', models.ForeignKey(blank=True, help_text="广西农信 and 邮储 use the generic 网银 sheet until the bank's own template is entered as a format. Empty: doctors paid at this bank block the approval of a run.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='banks', to='payroll.bankfileformat', verbose_name='bank file format')),
            ],
            options={
                'verbose_name': 'paying bank',
                'verbose_name_plural': 'paying banks',
                'ordering': ['bank_name'],
            },
        ),
        migrations.CreateModel(
            name='BankFileColumn',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveSmallIntegerField(verbose_name='position')),
                ('field', models.CharField(choices=[('sequence', 'Sequence number'), ('name', 'Payee name'), ('account', 'Account number'), ('amount', 'Amount'), ('id_number', 'Resident ID number'), ('purpose', "Purpose (paying bank's text)"), ('bank_name', 'Bank name'), ('branch_code', 'Branch code (联行行号)'), ('cross_bank', 'Cross-bank flag'), ('constant', 'Constant text'), ('empty', 'Empty')], max_length=15, verbose_name='content')),
                ('title', models.CharField(blank=True, help_text="The column's title in the title row.", max_length=50, verbose_name='title')),
                ('width', models.PositiveSmallIntegerField(blank=True, help_text="Fixed-width text: the field's width in bytes.", null=True, verbose_name='width (bytes)')),
                ('align', models.CharField(choices=[('left', 'Left (padding after)'), ('right', 'Right (padding before)')], default='left', max_length=5, verbose_name='alignment')),
                ('fill', models.CharField(blank=True, default=' ', help_text='Empty means a space.', max_length=1, verbose_name='padding character')),
                ('value', models.CharField(blank=True, help_text='For constant text; for the cross-bank flag the value written (empty leaves it blank).', max_length=100, verbose_name='value')),
                ('file_format', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='columns', to='payroll.bankfileformat', verbose_name='bank file format')),
            ],
            options={
                'verbose_name': 'bank file column',
                'verbose_name_plural': 'bank file columns',
                'ordering': ['file_format', 'position'],
                'constraints': [models.UniqueConstraint(fields=('file_format', 'position'), name='payroll_bankcolumn_one_per_position', violation_error_message='Two columns of a format cannot have the same position.'), models.CheckConstraint(condition=models.Q(('width__isnull', True), ('width__gt', 0), _connector='OR'), name='payroll_bankcolumn_width_positive', violation_error_message='A width must be positive.')],
            },
        ),
        migrations.CreateModel(
            name='BankFileSummaryField',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('part', models.CharField(choices=[('header', 'Header (before the payees)'), ('trailer', 'Trailer (after the payees)')], default='header', max_length=10, verbose_name='part')),
                ('position', models.PositiveSmallIntegerField(verbose_name='position')),
                ('kind', models.CharField(choices=[('total_amount', 'Total amount'), ('record_count', 'Record count'), ('date', 'Date (YYYYMMDD)'), ('month', 'Pay month (YYYYMM)'), ('constant', 'Constant text')], max_length=15, verbose_name='content')),
                ('cell', models.CharField(blank=True, help_text='Sheets: the cell it goes in, for example B2.', max_length=10, verbose_name='cell')),
                ('width', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='width (bytes)')),
                ('align', models.CharField(choices=[('left', 'Left (padding after)'), ('right', 'Right (padding before)')], default='left', max_length=5, verbose_name='alignment')),
                ('fill', models.CharField(blank=True, default=' ', max_length=1, verbose_name='padding character')),
                ('value', models.CharField(blank=True, help_text='For constant text.', max_length=100, verbose_name='value')),
                ('file_format', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='summary_fields', to='payroll.bankfileformat', verbose_name='bank file format')),
            ],
            options={
                'verbose_name': 'bank file header or trailer field',
                'verbose_name_plural': 'bank file header and trailer fields',
                'ordering': ['file_format', 'part', 'position'],
                'constraints': [models.UniqueConstraint(fields=('file_format', 'part', 'position'), name='payroll_banksummary_one_per_position', violation_error_message='Two header or trailer fields cannot have the same position.'), models.CheckConstraint(condition=models.Q(('width__isnull', True), ('width__gt', 0), _connector='OR'), name='payroll_banksummary_width_positive', violation_error_message='A width must be positive.')],
            },
        ),
        migrations.CreateModel(
            name='PaymentOutsideFile',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(max_length=200, verbose_name='reason')),
                ('marked_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='marked')),
                ('doctor', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='staffing.doctor', verbose_name='doctor')),
                ('marked_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='marked by')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='payments_outside_file', to='payroll.payrun', verbose_name='pay run')),
            ],
            options={
                'verbose_name': 'payment outside the bank file',
                'verbose_name_plural': 'payments outside the bank file',
                'ordering': ['run', 'doctor__name'],
                'constraints': [models.UniqueConstraint(fields=('run', 'doctor'), name='payroll_outside_file_once_per_run', violation_error_message="This doctor's pay in this run is already marked paid outside the bank file.")],
            },
        ),
    ]
