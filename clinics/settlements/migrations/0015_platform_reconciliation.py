# Reconciliation the platform's way (issue 15): a reconciliation covers a period (3201's
# stmt_begndate..stmt_enddate), its lines are Cunyi's side of 3201 per insutype × clr_type ×
# clearing agency with the platform's answer (stmt_rslt, stmt_rslt_dscr), and its items are the rows
# of the platform's 3202 result file. Hand-written.
#
# Nothing stored is lost:
# - old-format statements (BureauStatement, BureauTotal, BureauDetail) stay as they are, read-only;
#   the bureau figures the old reconciliations and their lines held (bureau_count, bureau_medfee,
#   bureau_fund, bureau_acct) are the sums of those statements' BureauTotal lines, which stay;
# - an old reconciliation's month becomes its period (the first to the last day of the month), and
#   the "balanced" Cunyi decided itself moves to legacy_balanced (balanced is the platform's answer
#   now, and there is none for them);
# - an old line's own figures become the 3201 input fields (renamed, values kept); its clearing
#   agency is unknown (empty) and it has no platform answer;
# - old detail items keep their status, setl_id and amounts.

import calendar

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

SUM_MONEY = {"max_digits": 22, "decimal_places": 2}
MONEY = {"max_digits": 12, "decimal_places": 2}


def periods_from_months(apps, schema_editor):
    Reconciliation = apps.get_model("settlements", "Reconciliation")
    for rec in Reconciliation.objects.all().only("pk", "month", "balanced"):
        last = calendar.monthrange(rec.month.year, rec.month.month)[1]
        Reconciliation.objects.filter(pk=rec.pk).update(
            stmt_begndate=rec.month, stmt_enddate=rec.month.replace(day=last), legacy_balanced=rec.balanced,
            balanced=None,
        )


def months_from_periods(apps, schema_editor):
    Reconciliation = apps.get_model("settlements", "Reconciliation")
    for rec in Reconciliation.objects.all().only("pk", "legacy_balanced"):
        Reconciliation.objects.filter(pk=rec.pk).update(balanced=bool(rec.legacy_balanced))


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0014_platform_dictionaries"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("clinics", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="bureaustatement",
            options={"ordering": ["-month", "-id"], "verbose_name": "old-format bureau statement",
                     "verbose_name_plural": "old-format bureau statements"},
        ),
        # --- Reconciliation: a period, the platform's answer, the 3202 result ---------------------
        migrations.RemoveConstraint(model_name="reconciliation", name="settlements_one_reconciliation_per_month"),
        migrations.AddField(model_name="reconciliation", name="stmt_begndate",
                            field=models.DateField(null=True, verbose_name="period from (stmt_begndate)")),
        migrations.AddField(model_name="reconciliation", name="stmt_enddate",
                            field=models.DateField(null=True, verbose_name="period to (stmt_enddate)")),
        migrations.AddField(
            model_name="reconciliation", name="legacy_balanced",
            field=models.BooleanField(
                blank=True, null=True, verbose_name="balanced by Cunyi's own comparison (before 0015)",
                help_text="Only on reconciliations made before the platform's answers were recorded."),
        ),
        migrations.AlterField(
            model_name="reconciliation", name="balanced",
            field=models.BooleanField(
                blank=True, null=True, verbose_name="balanced (platform's answer)",
                help_text="Yes when the platform answered 0 to every 3201 line, No when it answered otherwise to any; "
                          "empty until every line has its answer."),
        ),
        migrations.RunPython(periods_from_months, months_from_periods),
        migrations.AlterField(model_name="reconciliation", name="stmt_begndate",
                              field=models.DateField(verbose_name="period from (stmt_begndate)")),
        migrations.AlterField(model_name="reconciliation", name="stmt_enddate",
                              field=models.DateField(verbose_name="period to (stmt_enddate)")),
        migrations.AlterField(
            model_name="reconciliation", name="month",
            field=models.DateField(help_text="The month the period starts in (for lists and filters).",
                                   verbose_name="month"),
        ),
        migrations.RemoveField(model_name="reconciliation", name="bureau_count"),
        migrations.RemoveField(model_name="reconciliation", name="bureau_medfee"),
        migrations.RemoveField(model_name="reconciliation", name="bureau_fund"),
        migrations.AlterField(
            model_name="reconciliation", name="statement",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="reconciliations", to="settlements.bureaustatement",
                                    verbose_name="old-format statement"),
        ),
        migrations.AlterField(model_name="reconciliation", name="our_count",
                              field=models.IntegerField(default=0, verbose_name="settlements here (net)")),
        migrations.AlterField(model_name="reconciliation", name="matched",
                              field=models.IntegerField(default=0, verbose_name="3202 rows balanced")),
        migrations.AlterField(model_name="reconciliation", name="missing_at_bureau",
                              field=models.IntegerField(default=0, verbose_name="missing at the centre")),
        migrations.AddField(model_name="reconciliation", name="other_scope",
                            field=models.IntegerField(default=0, verbose_name="booked under another clinic or type")),
        migrations.AddField(model_name="reconciliation", name="unexplained",
                            field=models.IntegerField(default=0, verbose_name="to check by the note")),
        migrations.AlterField(model_name="reconciliation", name="run_at",
                              field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="computed at")),
        migrations.AlterField(
            model_name="reconciliation", name="run_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="computed by"),
        ),
        migrations.AddField(model_name="reconciliation", name="result_filename",
                            field=models.CharField(blank=True, max_length=200, verbose_name="3202 result file")),
        migrations.AddField(model_name="reconciliation", name="result_setl_optins",
                            field=models.CharField(blank=True, max_length=6, verbose_name="3202 clearing agency")),
        migrations.AddField(model_name="reconciliation", name="result_clr_type",
                            field=models.CharField(blank=True, max_length=6, verbose_name="3202 clearing type")),
        migrations.AddField(model_name="reconciliation", name="result_insutype",
                            field=models.CharField(blank=True, max_length=6, verbose_name="3202 insurance type")),
        migrations.AddField(model_name="reconciliation", name="result_imported_at",
                            field=models.DateTimeField(blank=True, null=True, verbose_name="3202 result imported at")),
        migrations.AddField(
            model_name="reconciliation", name="result_imported_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to=settings.AUTH_USER_MODEL,
                                    verbose_name="3202 result imported by"),
        ),
        migrations.AlterModelOptions(
            name="reconciliation",
            options={"ordering": ["-month", "facility__code", "stmt_begndate"], "verbose_name": "reconciliation",
                     "verbose_name_plural": "reconciliations"},
        ),
        migrations.AddConstraint(
            model_name="reconciliation",
            constraint=models.UniqueConstraint(fields=("facility", "stmt_begndate", "stmt_enddate"),
                                               name="settlements_one_reconciliation_per_period"),
        ),
        migrations.AddConstraint(
            model_name="reconciliation",
            constraint=models.CheckConstraint(condition=models.Q(stmt_enddate__gte=models.F("stmt_begndate")),
                                              name="settlements_reconciliation_period_order"),
        ),
        # --- ReconciliationTotal: the 3201 input fields and the platform's answer ------------------
        migrations.RenameField(model_name="reconciliationtotal", old_name="our_count", new_name="fixmedins_setl_cnt"),
        migrations.RenameField(model_name="reconciliationtotal", old_name="our_medfee", new_name="medfee_sumamt"),
        migrations.RenameField(model_name="reconciliationtotal", old_name="our_fund", new_name="fund_pay_sumamt"),
        migrations.RenameField(model_name="reconciliationtotal", old_name="our_acct", new_name="acct_pay"),
        migrations.RemoveField(model_name="reconciliationtotal", name="bureau_count"),
        migrations.RemoveField(model_name="reconciliationtotal", name="bureau_medfee"),
        migrations.RemoveField(model_name="reconciliationtotal", name="bureau_fund"),
        migrations.RemoveField(model_name="reconciliationtotal", name="bureau_acct"),
        migrations.RemoveField(model_name="reconciliationtotal", name="balanced"),
        migrations.AlterField(model_name="reconciliationtotal", name="fixmedins_setl_cnt",
                              field=models.IntegerField(verbose_name="settlements (fixmedins_setl_cnt)")),
        migrations.AlterField(model_name="reconciliationtotal", name="medfee_sumamt",
                              field=models.DecimalField(**SUM_MONEY, verbose_name="total medical fees (medfee_sumamt)")),
        migrations.AlterField(model_name="reconciliationtotal", name="fund_pay_sumamt",
                              field=models.DecimalField(**SUM_MONEY, verbose_name="all funds paid (fund_pay_sumamt)")),
        migrations.AlterField(model_name="reconciliationtotal", name="acct_pay",
                              field=models.DecimalField(**SUM_MONEY, verbose_name="personal account paid (acct_pay)")),
        migrations.AlterField(model_name="reconciliationtotal", name="insutype",
                              field=models.CharField(max_length=6, verbose_name="insurance type (insutype)")),
        migrations.AlterField(model_name="reconciliationtotal", name="clr_type",
                              field=models.CharField(max_length=6, verbose_name="clearing type (clr_type)")),
        migrations.AddField(
            model_name="reconciliationtotal", name="setl_optins",
            field=models.CharField(blank=True, max_length=6, verbose_name="clearing agency (setl_optins)",
                                   help_text="The settlements' clr_optins; empty when the settlements did not carry it."),
        ),
        migrations.AddField(model_name="reconciliationtotal", name="refd_setl_flag",
                            field=models.CharField(default="0", max_length=3, verbose_name="refund flag (refd_setl_flag)")),
        migrations.AddField(
            model_name="reconciliationtotal", name="stmt_rslt",
            field=models.CharField(blank=True, max_length=6, verbose_name="platform's result (stmt_rslt)",
                                   choices=[("0", "0 Balanced"), ("1", "1 The insurance centre has more"),
                                            ("2", "2 The clinic has more"), ("3", "3 Data inconsistent")]),
        ),
        migrations.AddField(
            model_name="reconciliationtotal", name="stmt_rslt_dscr",
            field=models.CharField(blank=True, max_length=200, verbose_name="platform's explanation (stmt_rslt_dscr)"),
        ),
        migrations.AddField(model_name="reconciliationtotal", name="answered_at",
                            field=models.DateTimeField(blank=True, null=True, verbose_name="answer recorded at")),
        migrations.AddField(
            model_name="reconciliationtotal", name="answered_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="answer recorded by"),
        ),
        migrations.AddField(
            model_name="reconciliationtotal", name="answer_source",
            field=models.CharField(blank=True, max_length=10, verbose_name="answer recorded from",
                                   choices=[("entered", "Entered in admin"), ("imported", "Imported from a file")]),
        ),
        migrations.AlterModelOptions(
            name="reconciliationtotal",
            options={"ordering": ["reconciliation", "insutype", "clr_type", "setl_optins"],
                     "verbose_name": "3201 line", "verbose_name_plural": "3201 lines"},
        ),
        migrations.AddConstraint(
            model_name="reconciliationtotal",
            constraint=models.UniqueConstraint(fields=("reconciliation", "insutype", "clr_type", "setl_optins"),
                                               name="settlements_one_3201_line_per_group"),
        ),
        # --- ReconciliationItem: a row of the platform's 3202 result ------------------------------
        migrations.AddField(model_name="reconciliationitem", name="row_number",
                            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="row in the result file")),
        migrations.AlterField(model_name="reconciliationitem", name="setl_id",
                              field=models.CharField(blank=True, max_length=30, verbose_name="settlement ID")),
        migrations.AddField(model_name="reconciliationitem", name="mdtrt_id",
                            field=models.CharField(blank=True, max_length=30, verbose_name="visit ID (mdtrt_id)")),
        migrations.AddField(model_name="reconciliationitem", name="psn_no",
                            field=models.CharField(blank=True, max_length=30,
                                                   verbose_name="insured person number (psn_no)")),
        migrations.AddField(model_name="reconciliationitem", name="msgid",
                            field=models.CharField(blank=True, max_length=30, verbose_name="message ID (msgid)")),
        migrations.AddField(
            model_name="reconciliationitem", name="stmt_rslt",
            field=models.CharField(blank=True, max_length=6, verbose_name="platform's result (stmt_rslt)",
                                   choices=[("0", "0 Balanced"), ("1", "1 The insurance centre has more"),
                                            ("2", "2 The clinic has more"), ("3", "3 Data inconsistent")]),
        ),
        migrations.AddField(model_name="reconciliationitem", name="refd_setl_flag",
                            field=models.CharField(blank=True, max_length=3, verbose_name="refund flag (refd_setl_flag)")),
        migrations.AddField(model_name="reconciliationitem", name="memo",
                            field=models.CharField(blank=True, max_length=500, verbose_name="platform's note (memo)")),
        migrations.AlterField(
            model_name="reconciliationitem", name="status",
            field=models.CharField(
                max_length=15, verbose_name="status",
                choices=[("matched", "Balanced"), ("missing_here", "Missing here"),
                         ("missing_bureau", "Missing at the centre"), ("amounts_differ", "Amounts differ"),
                         ("other_scope", "Booked under another clinic or insurance type"),
                         ("unexplained", "The platform reports a difference Cunyi cannot see")]),
        ),
        migrations.AddField(
            model_name="reconciliationitem", name="our_setl_id",
            field=models.CharField(blank=True, max_length=30, verbose_name="Cunyi's settlement ID",
                                   help_text="When Cunyi's settlement was found by visit and person, not by setl_id."),
        ),
        migrations.AlterField(model_name="reconciliationitem", name="bureau_medfee",
                              field=models.DecimalField(**MONEY, blank=True, null=True,
                                                        verbose_name="total fees at the centre")),
        migrations.AlterField(model_name="reconciliationitem", name="bureau_fund",
                              field=models.DecimalField(**MONEY, blank=True, null=True,
                                                        verbose_name="funds paid at the centre")),
        migrations.AddField(model_name="reconciliationitem", name="our_acct",
                            field=models.DecimalField(**MONEY, blank=True, null=True,
                                                      verbose_name="personal account here")),
        migrations.AddField(model_name="reconciliationitem", name="bureau_acct",
                            field=models.DecimalField(**MONEY, blank=True, null=True,
                                                      verbose_name="personal account at the centre")),
        migrations.AddField(
            model_name="reconciliationitem", name="booked_facility",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="clinics.facility",
                                    verbose_name="booked in Cunyi under clinic"),
        ),
        migrations.AddField(model_name="reconciliationitem", name="booked_insutype",
                            field=models.CharField(blank=True, max_length=6, verbose_name="booked under insutype")),
        migrations.AddField(model_name="reconciliationitem", name="booked_clr_type",
                            field=models.CharField(blank=True, max_length=6, verbose_name="booked under clr_type")),
        migrations.AddField(model_name="reconciliationitem", name="booked_optins",
                            field=models.CharField(blank=True, max_length=6, verbose_name="booked under clr_optins")),
        migrations.AddField(model_name="reconciliationitem", name="booked_at",
                            field=models.DateTimeField(blank=True, null=True, verbose_name="booked in Cunyi at")),
        migrations.AlterModelOptions(
            name="reconciliationitem",
            options={"ordering": ["reconciliation", "status", "row_number", "setl_id"],
                     "verbose_name": "3202 result row", "verbose_name_plural": "3202 result rows"},
        ),
    ]
