"""The log carries the national platform's 2207 `setlinfo` (issue 15): its 41 fields with the
platform's names, types and lengths (`clinics.settlements.spec.SETLINFO`).

- 27 new columns, all NULL for the rows recorded before (nothing is derived for them: an old row
  has no hospital share, no person category, no clearing agency — it was never sent);
  `insutype`/`clr_type` widen to the platform's C6 and the masked certificate number to C50 (a
  varchar widening: no rewrite of the partitions; ALTER TABLE on the partitioned parent reaches
  every partition).
- The total rule counts the hospital's share when it is given:
  `medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay + coalesce(hosp_part_amt, 0)` (exact on
  PostgreSQL, as 0009 wrote the old one; within half a cent on SQLite); every stored row keeps it
  (hosp_part_amt is NULL there). The new amounts are not negative (NULL passes).
- `clr_type` 14 ("门诊慢特病") is a `med_type` code, not one of the platform's 清算类别 (11 门诊,
  21 住院, 41 药店购药, 99 其他): a stored row with clr_type 14 is carried as med_type 14 with
  clr_type 11 (an outpatient settlement, cleared as outpatient). Nothing is lost: no stored row had a
  med_type, so med_type 14 on a row recorded before this migration says exactly that it was clr_type
  14 (backwards, med_type 14 + clr_type 11 goes back to clr_type 14). The key table's fingerprint of
  such a row is recomputed over the carried values (the fingerprint now ends with the 27 platform
  fields when any is given, spec.fingerprint: an old row's fingerprint is otherwise unchanged, so a
  resent old file stays a duplicate), and the monthly rollup's clr_type 14 lines are added into the
  clr_type 11 lines. The log and its key table are append-only (migration 0002's triggers): the
  migration disables the two triggers for its own UPDATEs only, inside its transaction, and enables
  them again before it ends.
"""

from decimal import Decimal

import django.db.models.deletion
import django.db.models.expressions
import django.db.models.functions.comparison
from django.db import migrations, models

from core.db import PostgresOnlySQL

LOG = "settlements_settlementrecord"
KEY = "settlements_settlementkey"
STAT = "settlements_settlementmonthstat"

# On PostgreSQL the amount rules are exact (as 0009 wrote them), the new "not negative" too.
EXACT_TOTAL = f"""
ALTER TABLE {LOG} DROP CONSTRAINT settlement_total_adds_up;
ALTER TABLE {LOG} ADD CONSTRAINT settlement_total_adds_up
    CHECK (medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay + COALESCE(hosp_part_amt, 0.00));
"""
# Backwards: Django's reverse of RemoveConstraint writes the old rule within half a cent; 0009 had
# made it exact on PostgreSQL.
RESTORE_0009 = f"""
ALTER TABLE {LOG} DROP CONSTRAINT settlement_total_adds_up;
ALTER TABLE {LOG} ADD CONSTRAINT settlement_total_adds_up CHECK (medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay);
"""

# The fingerprint as the engines wrote it until now (spec.FINGERPRINT, frozen here); a row that
# gives any of the 2207 fields the log did not keep before is followed by those 27 values in their
# order, "" for one not given (spec.fingerprint). A carried row gives one: med_type.
FINGERPRINT_OLD = (
    "concat_ws('|', r.setl_id, r.mdtrt_id, r.psn_no, r.psn_name, r.certno_masked, r.insutype, r.clr_type, "
    "r.facility_id::text, extract(epoch FROM r.settled_at)::bigint::text, r.medfee_sumamt::text, "
    "r.fund_pay_sumamt::text, r.hifp_pay::text, r.maf_pay::text, r.acct_pay::text, r.psn_cash_pay::text, "
    "r.atddr_no, r.init_setl_id"
)
PLATFORM_FIELDS = (
    "psn_cert_type", "gend", "naty", "brdy", "age", "psn_type", "cvlserv_flag", "mdtrt_cert_type", "med_type",
    "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "pool_prop_selfpay",
    "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "oth_pay", "psn_part_amt", "hosp_part_amt", "balc",
    "acct_mulaid_pay", "medins_setl_id", "clr_optins", "clr_way",
)
MED_TYPE_AT = PLATFORM_FIELDS.index("med_type")
FINGERPRINT_NEW = (
    f"md5({FINGERPRINT_OLD}, "
    + ", ".join("r.med_type" if f == "med_type" else "''" for f in PLATFORM_FIELDS)
    + "))"
)
FINGERPRINT_BACK = f"md5({FINGERPRINT_OLD}))"

VISITS = ["visits", "reversals", "medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "maf_pay", "acct_pay", "psn_cash_pay"]


def _merge_rollup(cursor, source: str, target: str) -> None:
    """Add the rollup lines of clr_type `source` into those of `target` (same clinic, month, insutype)."""
    columns = ", ".join(VISITS)
    updates = ", ".join(f"{c} = {STAT}.{c} + excluded.{c}" for c in VISITS)
    cursor.execute(
        f"INSERT INTO {STAT} (facility_id, month, insutype, clr_type, {columns}) "
        f"SELECT facility_id, month, insutype, %s, {columns} FROM {STAT} WHERE clr_type = %s AND true "
        f"ON CONFLICT (facility_id, month, insutype, clr_type) DO UPDATE SET {updates}",
        [target, source],
    )
    cursor.execute(f"DELETE FROM {STAT} WHERE clr_type = %s", [source])


def carry_clr_type_14(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        if postgres:
            cursor.execute(f"ALTER TABLE {LOG} DISABLE TRIGGER settlements_record_append_only")
            cursor.execute(f"ALTER TABLE {KEY} DISABLE TRIGGER settlements_key_append_only")
        cursor.execute(f"UPDATE {LOG} SET med_type = '14', clr_type = '11' WHERE clr_type = '14'")
        _rekey(cursor, "r.med_type = '14' AND r.clr_type = '11'", FINGERPRINT_NEW, postgres)
        if postgres:
            cursor.execute(f"ALTER TABLE {KEY} ENABLE TRIGGER settlements_key_append_only")
            cursor.execute(f"ALTER TABLE {LOG} ENABLE TRIGGER settlements_record_append_only")
        _merge_rollup(cursor, "14", "11")


def uncarry_clr_type_14(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        if postgres:
            cursor.execute(f"ALTER TABLE {LOG} DISABLE TRIGGER settlements_record_append_only")
            cursor.execute(f"ALTER TABLE {KEY} DISABLE TRIGGER settlements_key_append_only")
        cursor.execute(f"UPDATE {LOG} SET clr_type = '14', med_type = NULL WHERE med_type = '14' AND clr_type = '11'")
        _rekey(cursor, "r.clr_type = '14'", FINGERPRINT_BACK, postgres)
        if postgres:
            cursor.execute(f"ALTER TABLE {KEY} ENABLE TRIGGER settlements_key_append_only")
            cursor.execute(f"ALTER TABLE {LOG} ENABLE TRIGGER settlements_record_append_only")
        # The rollup cannot tell the carried visits from other clr_type 11 ones: recomputed from the log.
        cursor.execute(f"DELETE FROM {STAT}")
        month = ("(date_trunc('month', r.settled_at AT TIME ZONE 'Asia/Shanghai'))::date" if postgres
                 else "strftime('%%Y-%%m-01', r.settled_at, '+8 hours')")
        signed = ", ".join(f"sum(CASE WHEN r.init_setl_id = '' THEN r.{a} ELSE -r.{a} END)" for a in VISITS[2:])
        cursor.execute(
            f"INSERT INTO {STAT} (facility_id, month, insutype, clr_type, {', '.join(VISITS)}) "
            f"SELECT r.facility_id, {month}, r.insutype, r.clr_type, sum(CASE WHEN r.init_setl_id = '' THEN 1 ELSE -1 END), "
            f"sum(CASE WHEN r.init_setl_id = '' THEN 0 ELSE 1 END), {signed} FROM {LOG} r GROUP BY 1, 2, 3, 4",
            [],  # with parameters, so that %% is read as %
        )
        if postgres:
            # The rollup's deferred foreign-key checks now, not at commit: the columns are altered next.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _rekey(cursor, where: str, fingerprint_sql: str, postgres: bool) -> None:
    """The key table's fingerprint of the log rows `where` selects, recomputed over their values."""
    if postgres:
        cursor.execute(
            f"UPDATE {KEY} k SET fingerprint = {fingerprint_sql} FROM {LOG} r "
            f"WHERE {where} AND k.setl_id = r.setl_id"
        )
        return
    # SQLite has no md5(): the same text, hashed in Python (amounts as numeric(12,2) prints them).
    import hashlib

    cursor.execute(
        f"SELECT r.setl_id, r.mdtrt_id, r.psn_no, r.psn_name, r.certno_masked, r.insutype, r.clr_type, r.facility_id, "
        f"CAST(strftime('%%s', r.settled_at) AS integer), r.medfee_sumamt, r.fund_pay_sumamt, r.hifp_pay, r.maf_pay, "
        f"r.acct_pay, r.psn_cash_pay, r.atddr_no, r.init_setl_id, r.med_type FROM {LOG} r WHERE {where}",
        [],  # with parameters, so that %% is read as %
    )
    updates = []
    for values in cursor.fetchall():
        *head, med_type = values
        parts = [str(v) for v in head[:8]] + [str(int(head[8]))]
        parts += [f"{Decimal(str(v)).quantize(Decimal('0.01'))}" for v in head[9:15]] + [head[15], head[16]]
        if med_type and fingerprint_sql is FINGERPRINT_NEW:
            parts += ["" if i != MED_TYPE_AT else med_type for i in range(len(PLATFORM_FIELDS))]
        updates.append((hashlib.md5("|".join(parts).encode()).hexdigest(), head[0]))  # noqa: S324 - a fingerprint
    cursor.executemany(f"UPDATE {KEY} SET fingerprint = %s WHERE setl_id = %s", updates)


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0012_mask_rejected_certno"),
    ]

    operations = [
        migrations.CreateModel(
            name='SettlementImportWarning',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('row_number', models.PositiveIntegerField(verbose_name='row number')),
                ('setl_id', models.CharField(blank=True, max_length=100, verbose_name='settlement ID')),
                ('code', models.CharField(max_length=30, verbose_name='relation')),
                ('message', models.CharField(max_length=300, verbose_name='warning')),
            ],
            options={
                'verbose_name': 'settlement import warning',
                'verbose_name_plural': 'settlement import warnings',
                'ordering': ['batch', 'row_number', 'code'],
            },
        ),
        migrations.AddField(
            model_name='settlementimport',
            name='warned',
            field=models.PositiveIntegerField(default=0, verbose_name='accepted with warnings'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='acct_mulaid_pay',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Personal account mutual-aid payment'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='act_pay_dedc',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Deductible actually paid'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='age',
            field=models.DecimalField(blank=True, decimal_places=1, max_digits=4, null=True, verbose_name='Age'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='balc',
            field=models.DecimalField(blank=True, decimal_places=2, help_text="The personal account's balance after the settlement: not a payment.", max_digits=12, null=True, verbose_name='Balance'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='brdy',
            field=models.DateField(blank=True, null=True, verbose_name='Date of birth'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='clr_optins',
            field=models.CharField(blank=True, max_length=6, null=True, verbose_name='Clearing agency'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='clr_way',
            field=models.CharField(blank=True, max_length=6, null=True, verbose_name='Clearing method'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='cvlserv_flag',
            field=models.CharField(blank=True, max_length=3, null=True, verbose_name='Civil servant flag'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='cvlserv_pay',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Civil servant medical subsidy paid'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='fulamt_ownpay_amt',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Fully self-paid amount'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='gend',
            field=models.CharField(blank=True, max_length=6, null=True, verbose_name='Gender'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='hifes_pay',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Enterprise supplementary insurance paid'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='hifmi_pay',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name="Residents' critical illness insurance paid"),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='hifob_pay',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name="Employees' large medical expense subsidy paid"),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='hosp_part_amt',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Amount borne by the medical institution'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='inscp_scp_amt',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Amount within the policy scope'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='mdtrt_cert_type',
            field=models.CharField(blank=True, max_length=3, null=True, verbose_name='Visit credential type'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='med_type',
            field=models.CharField(blank=True, max_length=6, null=True, verbose_name='Medical category'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='medins_setl_id',
            field=models.CharField(blank=True, max_length=30, null=True, verbose_name='Medical institution settlement ID'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='naty',
            field=models.CharField(blank=True, max_length=3, null=True, verbose_name='Ethnicity'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='oth_pay',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Other payments'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='overlmt_selfpay',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Self-paid amount above price limits'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='pool_prop_selfpay',
            field=models.DecimalField(blank=True, decimal_places=4, help_text='A ratio (0.0000–9.9999), not money: never summed.', max_digits=5, null=True, verbose_name='Pooled fund payment ratio'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='preselfpay_amt',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Prior self-payment amount'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='psn_cert_type',
            field=models.CharField(blank=True, max_length=6, null=True, verbose_name='Person certificate type'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='psn_part_amt',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='Total personal share'),
        ),
        migrations.AddField(
            model_name='settlementrecord',
            name='psn_type',
            field=models.CharField(blank=True, max_length=6, null=True, verbose_name='Person category'),
        ),
        migrations.AlterField(
            model_name='settlementmonthstat',
            name='clr_type',
            field=models.CharField(max_length=6, verbose_name='Clearing category'),
        ),
        migrations.AlterField(
            model_name='settlementmonthstat',
            name='insutype',
            field=models.CharField(max_length=6, verbose_name='Insurance type'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='acct_pay',
            field=models.DecimalField(decimal_places=2, max_digits=12, verbose_name='Personal account paid'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='certno_masked',
            field=models.CharField(blank=True, max_length=50, verbose_name='Certificate number (masked)'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='clr_type',
            field=models.CharField(max_length=6, verbose_name='Clearing category'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='fund_pay_sumamt',
            field=models.DecimalField(decimal_places=2, max_digits=12, verbose_name='Total fund payment'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='hifp_pay',
            field=models.DecimalField(decimal_places=2, max_digits=12, verbose_name='Basic medical insurance pooled fund paid'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='insutype',
            field=models.CharField(max_length=6, verbose_name='Insurance type'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='maf_pay',
            field=models.DecimalField(decimal_places=2, max_digits=12, verbose_name='Medical assistance fund paid'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='mdtrt_id',
            field=models.CharField(max_length=30, verbose_name='Visit ID'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='medfee_sumamt',
            field=models.DecimalField(decimal_places=2, max_digits=12, verbose_name='Total medical fees'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='psn_cash_pay',
            field=models.DecimalField(decimal_places=2, max_digits=12, verbose_name='Personal cash paid'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='psn_name',
            field=models.CharField(max_length=50, verbose_name='Person name'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='psn_no',
            field=models.CharField(max_length=30, verbose_name='Person number'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='setl_id',
            field=models.CharField(max_length=30, verbose_name='Settlement ID'),
        ),
        migrations.AlterField(
            model_name='settlementrecord',
            name='settled_at',
            field=models.DateTimeField(verbose_name='Settlement time'),
        ),
        migrations.AddField(
            model_name='settlementimportwarning',
            name='batch',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='warnings', to='settlements.settlementimport', verbose_name='import'),
        ),
        migrations.AddIndex(
            model_name='settlementimportwarning',
            index=models.Index(fields=['batch', 'row_number'], name='settlements_warning_batch_row'),
        ),
        PostgresOnlySQL(migrations.RunSQL.noop, reverse_sql=RESTORE_0009),
        migrations.RemoveConstraint(
            model_name='settlementrecord',
            name='settlement_total_adds_up',
        ),
        migrations.AddConstraint(
            model_name='settlementrecord',
            constraint=models.CheckConstraint(condition=models.Q(('fulamt_ownpay_amt__gte', 0), ('overlmt_selfpay__gte', 0), ('preselfpay_amt__gte', 0), ('inscp_scp_amt__gte', 0), ('act_pay_dedc__gte', 0), ('pool_prop_selfpay__gte', 0), ('cvlserv_pay__gte', 0), ('hifes_pay__gte', 0), ('hifmi_pay__gte', 0), ('hifob_pay__gte', 0), ('oth_pay__gte', 0), ('psn_part_amt__gte', 0), ('hosp_part_amt__gte', 0), ('balc__gte', 0), ('acct_mulaid_pay__gte', 0)), name='settlement_platform_amounts_not_negative', violation_error_message='Settlement amounts cannot be negative.'),
        ),
        migrations.AddConstraint(
            model_name='settlementrecord',
            constraint=models.CheckConstraint(condition=models.Q(('medfee_sumamt__gte', django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('fund_pay_sumamt'), '+', models.F('acct_pay')), '+', models.F('psn_cash_pay')), '+', django.db.models.functions.comparison.Coalesce('hosp_part_amt', models.Value(Decimal('0.00')), output_field=models.DecimalField(decimal_places=2, max_digits=12))), '-', models.Value(Decimal('0.005'), output_field=models.DecimalField(decimal_places=3, max_digits=4)))), ('medfee_sumamt__lte', django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('fund_pay_sumamt'), '+', models.F('acct_pay')), '+', models.F('psn_cash_pay')), '+', django.db.models.functions.comparison.Coalesce('hosp_part_amt', models.Value(Decimal('0.00')), output_field=models.DecimalField(decimal_places=2, max_digits=12))), '+', models.Value(Decimal('0.005'), output_field=models.DecimalField(decimal_places=3, max_digits=4))))), name='settlement_total_adds_up', violation_error_message='medfee_sumamt must equal fund_pay_sumamt + acct_pay + psn_cash_pay + hosp_part_amt.'),
        ),
        PostgresOnlySQL(EXACT_TOTAL, reverse_sql=migrations.RunSQL.noop),
        migrations.RunPython(carry_clr_type_14, uncarry_clr_type_14),
    ]
