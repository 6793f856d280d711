"""The medical-insurance settlement log and its reconciliation with the insurance bureau.

The log is append-only: a settlement is never edited or deleted; a refund or correction (冲正/退费)
is a new record whose `init_setl_id` names the original. On PostgreSQL the log table is
partitioned by month of `settled_at` and a trigger refuses UPDATE and DELETE (see
migrations/0002). Because a unique key on a partitioned table must include the partition key,
`setl_id` uniqueness lives in the small, unpartitioned `SettlementKey` table: ingest inserts the
key first (`ON CONFLICT DO NOTHING`) and only rows whose key was new reach the log.

Amount rules (checked on every ingest path, in Python on SQLite and in SQL on PostgreSQL):
- no amount is negative; at most 10 digits before and 2 after the decimal point;
- `fund_pay_sumamt` ≥ `hifp_pay` + `maf_pay` (all funds cover at least the pooled fund and
  medical assistance; the rest of the funds, e.g. civil-servant subsidy, are the difference);
- `medfee_sumamt` = `fund_pay_sumamt` + `acct_pay` + `psn_cash_pay` (to the cent).
A reversal carries the same amounts as its original, positive, and counts negatively in every
sum; it names an original of the same clinic that is not itself a reversal and not yet reversed.
"""

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.models import Facility
from clinics.settlements import spec
from core.validators import normalize_code

MONEY = {"max_digits": 12, "decimal_places": 2}
# Sums of the log (the monthly rollup, a reconciliation's totals): wide enough for as many rows as
# the visits counter can count (2,147,483,647) at the largest amount the log can hold
# (9,999,999,999.99 — rows stored before SETTLEMENT_MAX_AMOUNT bounded new ones included), so no
# sum of stored rows can overflow: 2.2e19 < 1e20.
SUM_MONEY = {"max_digits": 22, "decimal_places": 2}
HALF_CENT = models.Value(Decimal("0.005"), output_field=models.DecimalField(max_digits=4, decimal_places=3))
# What the settlement is paid with: the funds, the personal account, cash and — when the sender
# gave it — the medical institution's share (NULL counts 0: rows without it keep the old relation).
PAID = (
    models.F("fund_pay_sumamt") + models.F("acct_pay") + models.F("psn_cash_pay")
    + Coalesce("hosp_part_amt", models.Value(Decimal("0.00")), output_field=models.DecimalField(**MONEY))
)


class InsuranceType(models.TextChoices):
    RESIDENT = "390", _("390 Residents' basic medical insurance")
    EMPLOYEE = "310", _("310 Employees' basic medical insurance")


class ClearingType(models.TextChoices):
    OUTPATIENT = "11", _("11 Outpatient")
    CHRONIC_OUTPATIENT = "14", _("14 Outpatient chronic and special diseases")


AMOUNT_FIELDS = list(spec.AMOUNT_FIELDS)


class SettlementImport(models.Model):
    """One ingest batch (an API call, an uploaded file or a command run) and what became of it."""

    class Source(models.TextChoices):
        API = "api", _("API")
        UPLOAD = "upload", _("Admin upload")
        COMMAND = "command", _("Command line")
        SEED = "seed", _("Demo seed")

    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    facility = models.ForeignKey(
        Facility,
        verbose_name=_("uploading clinic"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Set when an insurance terminal uploads: it may only upload its own clinic's settlements."),
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    warned = models.PositiveIntegerField(_("accepted with warnings"), default=0)
    seconds = models.DecimalField(_("seconds taken"), max_digits=9, decimal_places=3, default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("settlement import")
        verbose_name_plural = _("settlement imports")

    def __str__(self):
        return f"#{self.pk} {self.get_source_display()} {self.filename}".strip()


class RejectedSettlementRow(models.Model):
    """A row that could not be accepted, kept with its row number and the reason in Chinese, so
    it can be corrected and sent again."""

    batch = models.ForeignKey(
        SettlementImport, verbose_name=_("import"), on_delete=models.CASCADE, related_name="rejected_rows"
    )
    row_number = models.PositiveIntegerField(_("row number"))
    setl_id = models.CharField(_("settlement ID"), max_length=100, blank=True)
    fixmedins_code = models.CharField(_("clinic code"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    raw = models.JSONField(_("row as received"), default=dict)

    class Meta:
        ordering = ["batch", "row_number"]
        verbose_name = _("rejected settlement row")
        verbose_name_plural = _("rejected settlement rows")
        indexes = [models.Index(fields=["batch", "row_number"], name="settlements_reject_batch_row")]

    def __str__(self):
        return f"#{self.batch_id}:{self.row_number} {self.reason}"


class SettlementImportWarning(models.Model):
    """A row that was accepted but breaks an amount relation the county has not confirmed yet
    (`rules.RELATIONS`, setting SETTLEMENT_CONFIRMED_RELATIONS): kept with its row number and the
    sentence in Chinese on the import's report, so the clerk can check it against the platform."""

    batch = models.ForeignKey(
        SettlementImport, verbose_name=_("import"), on_delete=models.CASCADE, related_name="warnings"
    )
    row_number = models.PositiveIntegerField(_("row number"))
    setl_id = models.CharField(_("settlement ID"), max_length=100, blank=True)
    code = models.CharField(_("relation"), max_length=30)
    message = models.CharField(_("warning"), max_length=300)

    class Meta:
        ordering = ["batch", "row_number", "code"]
        verbose_name = _("settlement import warning")
        verbose_name_plural = _("settlement import warnings")
        indexes = [models.Index(fields=["batch", "row_number"], name="settlements_warning_batch_row")]

    def __str__(self):
        return f"#{self.batch_id}:{self.row_number} {self.message}"


class SettlementKey(models.Model):
    """One row per `setl_id` ever accepted: the uniqueness guard of the (partitioned) log, the
    content fingerprint that tells a true duplicate from a conflicting resend, and the
    one-reversal-per-original guard."""

    setl_id = models.CharField(_("settlement ID"), max_length=30, primary_key=True)
    settled_at = models.DateTimeField(_("settled at"))
    fingerprint = models.CharField(_("content fingerprint"), max_length=32)
    # Where the settlement lies in the log: its time picks the partition and its clinic the range
    # of the log's (facility_id, id) index, so the log needs no index of its own on setl_id.
    # No foreign key, as on the log (clinics are never deleted); NULL only for keys of old rows
    # that migration 0008 could not place.
    facility_id = models.BigIntegerField(_("clinic"), null=True, blank=True)
    # NULL, not "", for an ordinary settlement: several NULLs never clash in the unique index.
    init_setl_id = models.CharField(_("reverses settlement"), max_length=30, null=True, blank=True)  # noqa: DJ001

    class Meta:
        verbose_name = _("settlement key")
        verbose_name_plural = _("settlement keys")
        constraints = [
            # Partial, so the ordinary settlements (no init_setl_id) cost no index entry here.
            models.UniqueConstraint(
                fields=["init_setl_id"],
                condition=Q(init_setl_id__isnull=False),
                name="settlements_one_reversal_per_original",
                violation_error_message=_("This settlement has already been reversed."),
            )
        ]

    def __str__(self):
        return self.setl_id


class SettlementRecord(models.Model):
    """A settlement done at a village clinic: the `setlinfo` of the national platform's 2207 answer
    (its 41 fields, with the platform's names, types and lengths — `spec.SETLINFO`), the clinic,
    the practitioner and, on a reversal, the settlement it cancels. Fields the sender did not give
    are NULL (rows recorded before migration 0013 have them all NULL): nothing is derived."""

    # -- 人员 (person)
    psn_no = models.CharField(_("Person number"), max_length=30)
    psn_name = models.CharField(_("Person name"), max_length=50)
    psn_cert_type = models.CharField(_("Person certificate type"), max_length=6, null=True, blank=True)  # noqa: DJ001
    certno_masked = models.CharField(_("Certificate number (masked)"), max_length=50, blank=True)
    gend = models.CharField(_("Gender"), max_length=6, null=True, blank=True)  # noqa: DJ001
    naty = models.CharField(_("Ethnicity"), max_length=3, null=True, blank=True)  # noqa: DJ001
    brdy = models.DateField(_("Date of birth"), null=True, blank=True)
    age = models.DecimalField(_("Age"), max_digits=4, decimal_places=1, null=True, blank=True)
    insutype = models.CharField(_("Insurance type"), max_length=6)
    psn_type = models.CharField(_("Person category"), max_length=6, null=True, blank=True)  # noqa: DJ001
    cvlserv_flag = models.CharField(_("Civil servant flag"), max_length=3, null=True, blank=True)  # noqa: DJ001
    # -- 就诊 (visit)
    mdtrt_id = models.CharField(_("Visit ID"), max_length=30)
    setl_id = models.CharField(_("Settlement ID"), max_length=30)
    settled_at = models.DateTimeField(_("Settlement time"))
    mdtrt_cert_type = models.CharField(_("Visit credential type"), max_length=3, null=True, blank=True)  # noqa: DJ001
    med_type = models.CharField(_("Medical category"), max_length=6, null=True, blank=True)  # noqa: DJ001
    # -- 金额 (amounts): numeric(12,2) — the platform declares N16,2; SETTLEMENT_MAX_AMOUNT bounds
    # an accepted amount far below 10 integer digits (spec.SETLINFO).
    medfee_sumamt = models.DecimalField(_("Total medical fees"), **MONEY)
    fulamt_ownpay_amt = models.DecimalField(_("Fully self-paid amount"), **MONEY, null=True, blank=True)
    overlmt_selfpay = models.DecimalField(_("Self-paid amount above price limits"), **MONEY, null=True, blank=True)
    preselfpay_amt = models.DecimalField(_("Prior self-payment amount"), **MONEY, null=True, blank=True)
    inscp_scp_amt = models.DecimalField(_("Amount within the policy scope"), **MONEY, null=True, blank=True)
    act_pay_dedc = models.DecimalField(_("Deductible actually paid"), **MONEY, null=True, blank=True)
    # -- 金额—基金 (funds)
    hifp_pay = models.DecimalField(_("Basic medical insurance pooled fund paid"), **MONEY)
    pool_prop_selfpay = models.DecimalField(
        _("Pooled fund payment ratio"), max_digits=5, decimal_places=4, null=True, blank=True,
        help_text=_("A ratio (0.0000–9.9999), not money: never summed."),
    )
    cvlserv_pay = models.DecimalField(_("Civil servant medical subsidy paid"), **MONEY, null=True, blank=True)
    hifes_pay = models.DecimalField(_("Enterprise supplementary insurance paid"), **MONEY, null=True, blank=True)
    hifmi_pay = models.DecimalField(_("Residents' critical illness insurance paid"), **MONEY, null=True, blank=True)
    hifob_pay = models.DecimalField(_("Employees' large medical expense subsidy paid"), **MONEY, null=True,
                                    blank=True)
    maf_pay = models.DecimalField(_("Medical assistance fund paid"), **MONEY)
    oth_pay = models.DecimalField(_("Other payments"), **MONEY, null=True, blank=True)
    fund_pay_sumamt = models.DecimalField(_("Total fund payment"), **MONEY)
    # -- 金额—个人 (personal share and the clinic's)
    psn_part_amt = models.DecimalField(_("Total personal share"), **MONEY, null=True, blank=True)
    acct_pay = models.DecimalField(_("Personal account paid"), **MONEY)
    psn_cash_pay = models.DecimalField(_("Personal cash paid"), **MONEY)
    hosp_part_amt = models.DecimalField(_("Amount borne by the medical institution"), **MONEY, null=True, blank=True)
    balc = models.DecimalField(_("Balance"), **MONEY, null=True, blank=True,
                               help_text=_("The personal account's balance after the settlement: not a payment."))
    acct_mulaid_pay = models.DecimalField(_("Personal account mutual-aid payment"), **MONEY, null=True, blank=True)
    # -- 清算 (clearing)
    medins_setl_id = models.CharField(_("Medical institution settlement ID"), max_length=30, null=True,  # noqa: DJ001
                                      blank=True)
    clr_optins = models.CharField(_("Clearing agency"), max_length=6, null=True, blank=True)  # noqa: DJ001
    clr_way = models.CharField(_("Clearing method"), max_length=6, null=True, blank=True)  # noqa: DJ001
    clr_type = models.CharField(_("Clearing category"), max_length=6)
    # No database foreign key: ingest joins every row to clinics_facility in the statement that
    # inserts it, and clinics are never deleted (PROTECT, checked by Django). A deferred FK cost a
    # queued trigger event and an index probe per row (about 2 s of an 8 s import of 200,000 rows).
    facility = models.ForeignKey(
        Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )
    atddr_no = models.CharField(
        _("practitioner code (atddr_no)"),
        max_length=30,
        blank=True,
        help_text=_("The doctor's insurance practitioner code (医保医师代码); empty when not given."),
    )
    init_setl_id = models.CharField(
        _("reverses settlement (init_setl_id)"),
        max_length=30,
        blank=True,
        help_text=_("Set on a reversal (冲正/退费): the setl_id of the settlement it cancels."),
    )
    batch_id = models.BigIntegerField(_("import"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("settlement record")
        verbose_name_plural = _("settlement records")
        default_permissions = ("add", "view")
        indexes = [
            # (clinic, id), not (clinic, time): a clinic's rows arrive in id order, so each insert
            # lands at the end of its clinic's range (a bulk load of a month's file in any time
            # order costs a quarter of what (clinic, time) did), and a clinic's pages, newest
            # first, read straight from it. A clinic's month: the partition, then this range.
            models.Index(fields=["facility", "id"], name="settlements_record_fac_id"),
        ]
        constraints = [
            # NULL (a field not given) passes a CHECK.
            models.CheckConstraint(
                condition=Q(medfee_sumamt__gte=0)
                & Q(fund_pay_sumamt__gte=0)
                & Q(hifp_pay__gte=0)
                & Q(maf_pay__gte=0)
                & Q(acct_pay__gte=0)
                & Q(psn_cash_pay__gte=0),
                name="settlement_amounts_not_negative",
                violation_error_message=_("Settlement amounts cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(fulamt_ownpay_amt__gte=0) & Q(overlmt_selfpay__gte=0) & Q(preselfpay_amt__gte=0)
                & Q(inscp_scp_amt__gte=0) & Q(act_pay_dedc__gte=0) & Q(pool_prop_selfpay__gte=0)
                & Q(cvlserv_pay__gte=0) & Q(hifes_pay__gte=0) & Q(hifmi_pay__gte=0) & Q(hifob_pay__gte=0)
                & Q(oth_pay__gte=0) & Q(psn_part_amt__gte=0) & Q(hosp_part_amt__gte=0) & Q(balc__gte=0)
                & Q(acct_mulaid_pay__gte=0),
                name="settlement_platform_amounts_not_negative",
                violation_error_message=_("Settlement amounts cannot be negative."),
            ),
            # Within half a cent: exact for two-decimal numbers, and safe where SQLite keeps
            # decimals as binary floating point.
            models.CheckConstraint(
                condition=Q(fund_pay_sumamt__gte=models.F("hifp_pay") + models.F("maf_pay") - HALF_CENT),
                name="settlement_funds_cover_hifp_maf",
                violation_error_message=_("fund_pay_sumamt must be at least hifp_pay + maf_pay."),
            ),
            # The hospital's share counts when given (2207's hosp_part_amt); a row without it (an
            # old HIS file, every row before migration 0013) keeps the old relation.
            models.CheckConstraint(
                condition=Q(medfee_sumamt__gte=PAID - HALF_CENT) & Q(medfee_sumamt__lte=PAID + HALF_CENT),
                name="settlement_total_adds_up",
                violation_error_message=_(
                    "medfee_sumamt must equal fund_pay_sumamt + acct_pay + psn_cash_pay + hosp_part_amt."
                ),
            ),
        ]

    def __str__(self):
        return self.setl_id

    @property
    def is_reversal(self) -> bool:
        return bool(self.init_setl_id)

    @property
    def refd_setl_flag(self) -> str:
        """退费结算标志 as 3202 writes it: "1" for a reversal (stored with positive amounts, counted
        negatively), "0" for a settlement."""
        return "1" if self.init_setl_id else "0"


class BureauStatement(models.Model):
    """A statement in Cunyi's own columns, as imported before the platform's 3201/3202 exchange
    was followed (migration 0015). Kept, read-only, as the record of what was imported then: its
    lines (`BureauTotal`, `BureauDetail`) are the bureau's figures the old reconciliations compared
    with. Nothing imports new ones: the platform's own answers are the record now."""

    month = models.DateField(_("month"), help_text=_("First day of the month the statement covers."))
    filename = models.CharField(_("statement file"), max_length=200, blank=True)
    detail_filename = models.CharField(_("detail file"), max_length=200, blank=True)
    has_detail = models.BooleanField(_("with detail lines"), default=False)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("imported by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-month", "-id"]
        verbose_name = _("old-format bureau statement")
        verbose_name_plural = _("old-format bureau statements")

    def __str__(self):
        return f"{self.month:%Y-%m} #{self.pk}"


class BureauTotal(models.Model):
    """One line of an old-format statement: a clinic's totals for an insurance type and clearing type."""

    statement = models.ForeignKey(BureauStatement, on_delete=models.CASCADE, related_name="totals")
    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="+")
    insutype = models.CharField(_("insurance type"), max_length=3, choices=InsuranceType.choices)
    clr_type = models.CharField(_("clearing type"), max_length=3, choices=ClearingType.choices)
    setl_cnt = models.IntegerField(_("settlements"))
    medfee_sumamt = models.DecimalField(_("total medical fees"), **MONEY)
    fund_pay_sumamt = models.DecimalField(_("all funds paid"), **MONEY)
    acct_pay = models.DecimalField(_("personal account paid"), **MONEY)

    class Meta:
        ordering = ["statement", "facility", "insutype", "clr_type"]
        verbose_name = _("bureau total")
        verbose_name_plural = _("bureau totals")
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "facility", "insutype", "clr_type"], name="settlements_bureau_total_unique"
            )
        ]

    def __str__(self):
        return f"{self.facility_id} {self.insutype}/{self.clr_type}"


class BureauDetail(models.Model):
    """One detail line of an old-format statement."""

    # Loaded by COPY in bulk: no per-row foreign-key checks or extra index on this table.
    statement = models.ForeignKey(BureauStatement, on_delete=models.CASCADE, related_name="details", db_index=False,
                                  db_constraint=False)
    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.DO_NOTHING, related_name="+",
                                 db_index=False, db_constraint=False)
    setl_id = models.CharField(_("settlement ID"), max_length=30)
    insutype = models.CharField(_("insurance type"), max_length=3)
    clr_type = models.CharField(_("clearing type"), max_length=3)
    medfee_sumamt = models.DecimalField(_("total medical fees"), **MONEY)
    fund_pay_sumamt = models.DecimalField(_("all funds paid"), **MONEY)
    acct_pay = models.DecimalField(_("personal account paid"), **MONEY)
    is_reversal = models.BooleanField(_("reversal"), default=False)

    class Meta:
        ordering = ["statement", "setl_id"]
        verbose_name = _("bureau detail line")
        verbose_name_plural = _("bureau detail lines")
        indexes = [models.Index(fields=["statement", "setl_id"], name="settlements_bdetail_stmt_setl")]

    def __str__(self):
        return self.setl_id


class StmtResult(models.TextChoices):
    """The platform's stmt_rslt (3201 per line, 3202 per row)."""

    BALANCED = "0", _("0 Balanced")
    CENTRE_MORE = "1", _("1 The insurance centre has more")
    INSTITUTION_MORE = "2", _("2 The clinic has more")
    INCONSISTENT = "3", _("3 Data inconsistent")


class Reconciliation(models.Model):
    """One clinic's reconciliation with the platform for a period (对账): Cunyi's side of 3201 per
    insutype × clr_type × clearing agency (the lines), the platform's answer to each line, and the
    rows of the platform's 3202 result file. `balanced` is the platform's word, never Cunyi's."""

    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="+")
    stmt_begndate = models.DateField(_("period from (stmt_begndate)"))
    stmt_enddate = models.DateField(_("period to (stmt_enddate)"))
    month = models.DateField(_("month"), help_text=_("The month the period starts in (for lists and filters)."))
    balanced = models.BooleanField(
        _("balanced (platform's answer)"), null=True, blank=True,
        help_text=_("Yes when the platform answered 0 to every 3201 line, No when it answered otherwise to any; "
                    "empty until every line has its answer."),
    )
    our_count = models.IntegerField(_("settlements here (net)"), default=0)
    our_medfee = models.DecimalField(_("total fees here"), **SUM_MONEY, default=0)
    our_fund = models.DecimalField(_("funds paid here"), **SUM_MONEY, default=0)
    matched = models.IntegerField(_("3202 rows balanced"), default=0)
    missing_here = models.IntegerField(_("missing here"), default=0)
    missing_at_bureau = models.IntegerField(_("missing at the centre"), default=0)
    amounts_differ = models.IntegerField(_("amounts differ"), default=0)
    other_scope = models.IntegerField(_("booked under another clinic or type"), default=0)
    unexplained = models.IntegerField(_("to check by the note"), default=0)
    run_at = models.DateTimeField(_("computed at"), default=timezone.now)
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("computed by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    result_filename = models.CharField(_("3202 result file"), max_length=200, blank=True)
    result_setl_optins = models.CharField(_("3202 clearing agency"), max_length=6, blank=True)
    result_clr_type = models.CharField(_("3202 clearing type"), max_length=6, blank=True)
    result_insutype = models.CharField(_("3202 insurance type"), max_length=6, blank=True)
    result_imported_at = models.DateTimeField(_("3202 result imported at"), null=True, blank=True)
    result_imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("3202 result imported by"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="+",
    )
    # Reconciliations made before migration 0015 compared an old-format statement themselves.
    statement = models.ForeignKey(BureauStatement, verbose_name=_("old-format statement"), on_delete=models.SET_NULL,
                                  null=True, blank=True, related_name="reconciliations")
    legacy_balanced = models.BooleanField(
        _("balanced by Cunyi's own comparison (before 0015)"), null=True, blank=True,
        help_text=_("Only on reconciliations made before the platform's answers were recorded."),
    )

    class Meta:
        ordering = ["-month", "facility__code", "stmt_begndate"]
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        constraints = [
            models.UniqueConstraint(fields=["facility", "stmt_begndate", "stmt_enddate"],
                                    name="settlements_one_reconciliation_per_period"),
            models.CheckConstraint(condition=Q(stmt_enddate__gte=models.F("stmt_begndate")),
                                   name="settlements_reconciliation_period_order"),
        ]

    def __str__(self):
        return f"{self.stmt_begndate:%Y-%m-%d}–{self.stmt_enddate:%Y-%m-%d} {self.facility}"


class ReconciliationTotal(models.Model):
    """One 3201 call: Cunyi's side (the 3201 input fields, reversals netted: a settlement +1 and its
    amounts, a reversal −1 and minus its amounts, refd_setl_flag "0") and the platform's answer
    (`stmtinfo`: stmt_rslt, stmt_rslt_dscr), entered in admin or imported."""

    class AnswerSource(models.TextChoices):
        ENTERED = "entered", _("Entered in admin")
        IMPORTED = "imported", _("Imported from a file")

    reconciliation = models.ForeignKey(Reconciliation, on_delete=models.CASCADE, related_name="totals")
    insutype = models.CharField(_("insurance type (insutype)"), max_length=6)
    clr_type = models.CharField(_("clearing type (clr_type)"), max_length=6)
    setl_optins = models.CharField(
        _("clearing agency (setl_optins)"), max_length=6, blank=True,
        help_text=_("The settlements' clr_optins; empty when the settlements did not carry it."),
    )
    medfee_sumamt = models.DecimalField(_("total medical fees (medfee_sumamt)"), **SUM_MONEY)
    fund_pay_sumamt = models.DecimalField(_("all funds paid (fund_pay_sumamt)"), **SUM_MONEY)
    acct_pay = models.DecimalField(_("personal account paid (acct_pay)"), **SUM_MONEY)
    fixmedins_setl_cnt = models.IntegerField(_("settlements (fixmedins_setl_cnt)"))
    refd_setl_flag = models.CharField(_("refund flag (refd_setl_flag)"), max_length=3, default="0")
    stmt_rslt = models.CharField(_("platform's result (stmt_rslt)"), max_length=6, blank=True,
                                 choices=StmtResult.choices)
    stmt_rslt_dscr = models.CharField(_("platform's explanation (stmt_rslt_dscr)"), max_length=200, blank=True)
    answered_at = models.DateTimeField(_("answer recorded at"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("answer recorded by"),
                                    on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    answer_source = models.CharField(_("answer recorded from"), max_length=10, blank=True,
                                     choices=AnswerSource.choices)

    class Meta:
        ordering = ["reconciliation", "insutype", "clr_type", "setl_optins"]
        verbose_name = _("3201 line")
        verbose_name_plural = _("3201 lines")
        constraints = [
            models.UniqueConstraint(fields=["reconciliation", "insutype", "clr_type", "setl_optins"],
                                    name="settlements_one_3201_line_per_group"),
        ]

    def __str__(self):
        return f"{self.insutype}/{self.clr_type}/{self.setl_optins or '—'}"


class ReconciliationItem(models.Model):
    """One row of the platform's 3202 result file, as it came (its stmt_rslt, memo and the centre's
    amounts) with Cunyi's side beside it and what to do about it (`status`)."""

    class Status(models.TextChoices):
        MATCHED = "matched", _("Balanced")
        MISSING_HERE = "missing_here", _("Missing here")
        MISSING_AT_BUREAU = "missing_bureau", _("Missing at the centre")
        AMOUNTS_DIFFER = "amounts_differ", _("Amounts differ")
        OTHER_SCOPE = "other_scope", _("Booked under another clinic or insurance type")
        UNEXPLAINED = "unexplained", _("The platform reports a difference Cunyi cannot see")

    reconciliation = models.ForeignKey(Reconciliation, on_delete=models.CASCADE, related_name="items",
                                       db_index=False)
    row_number = models.PositiveIntegerField(_("row in the result file"), null=True, blank=True)
    setl_id = models.CharField(_("settlement ID"), max_length=30, blank=True)
    mdtrt_id = models.CharField(_("visit ID (mdtrt_id)"), max_length=30, blank=True)
    psn_no = models.CharField(_("insured person number (psn_no)"), max_length=30, blank=True)
    msgid = models.CharField(_("message ID (msgid)"), max_length=30, blank=True)
    stmt_rslt = models.CharField(_("platform's result (stmt_rslt)"), max_length=6, blank=True,
                                 choices=StmtResult.choices)
    refd_setl_flag = models.CharField(_("refund flag (refd_setl_flag)"), max_length=3, blank=True)
    memo = models.CharField(_("platform's note (memo)"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=15, choices=Status.choices)
    our_setl_id = models.CharField(_("Cunyi's settlement ID"), max_length=30, blank=True,
                                   help_text=_("When Cunyi's settlement was found by visit and person, not by setl_id."))
    our_medfee = models.DecimalField(_("total fees here"), **MONEY, null=True, blank=True)
    bureau_medfee = models.DecimalField(_("total fees at the centre"), **MONEY, null=True, blank=True)
    our_fund = models.DecimalField(_("funds paid here"), **MONEY, null=True, blank=True)
    bureau_fund = models.DecimalField(_("funds paid at the centre"), **MONEY, null=True, blank=True)
    our_acct = models.DecimalField(_("personal account here"), **MONEY, null=True, blank=True)
    bureau_acct = models.DecimalField(_("personal account at the centre"), **MONEY, null=True, blank=True)
    booked_facility = models.ForeignKey(Facility, verbose_name=_("booked in Cunyi under clinic"),
                                        on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    booked_insutype = models.CharField(_("booked under insutype"), max_length=6, blank=True)
    booked_clr_type = models.CharField(_("booked under clr_type"), max_length=6, blank=True)
    booked_optins = models.CharField(_("booked under clr_optins"), max_length=6, blank=True)
    booked_at = models.DateTimeField(_("booked in Cunyi at"), null=True, blank=True)

    class Meta:
        ordering = ["reconciliation", "status", "row_number", "setl_id"]
        verbose_name = _("3202 result row")
        verbose_name_plural = _("3202 result rows")
        indexes = [models.Index(fields=["reconciliation", "status"], name="settlements_ritem_rec_status")]

    def __str__(self):
        return f"{self.setl_id or self.mdtrt_id} {self.get_status_display()}"


class ActivityAnomaly(models.Model):
    """A clinic whose monthly insured visits fell by half or more, or stopped."""

    class Kind(models.TextChoices):
        YEAR_ON_YEAR = "yoy", _("Visits fell by half or more against the same month last year")
        THREE_MONTH = "avg3", _("Visits fell by half or more against the 3-month average")
        NO_SETTLEMENTS = "none", _("No settlements while on duty")

    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))
    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)
    visits = models.IntegerField(_("visits this month"))
    baseline = models.DecimalField(_("comparison figure"), max_digits=10, decimal_places=1)
    change_pct = models.DecimalField(_("change (%)"), max_digits=6, decimal_places=1)
    detected_at = models.DateTimeField(_("detected at"), default=timezone.now)

    class Meta:
        ordering = ["-month", "facility__code", "kind"]
        verbose_name = _("activity anomaly")
        verbose_name_plural = _("activity anomalies")
        constraints = [
            models.UniqueConstraint(fields=["facility", "month", "kind"], name="settlements_one_anomaly_per_kind")
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.facility} {self.get_kind_display()}"


class SettlementMonthStat(models.Model):
    """The log rolled up per clinic × month × insutype × clr_type, for reads at scale (dashboard,
    summaries, anomalies, reconciliation totals). Kept in the same transaction as every ingest
    (an additive upsert of the batch's totals, see `clinics.settlements.stats`) and rebuilt from
    the log by `manage.py rebuild_settlement_stats`. `month` is the Beijing-time month of
    `settled_at`; a reversal counts −1 visit and minus its amounts in its own month."""

    facility = models.ForeignKey(Facility, verbose_name=_("clinic"), on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    month = models.DateField(_("month"))
    insutype = models.CharField(_("Insurance type"), max_length=6)
    clr_type = models.CharField(_("Clearing category"), max_length=6)
    visits = models.IntegerField(_("visits (net of reversals)"), default=0)
    reversals = models.IntegerField(_("reversals"), default=0)
    medfee_sumamt = models.DecimalField(_("total medical fees"), **SUM_MONEY, default=0)
    fund_pay_sumamt = models.DecimalField(_("all funds paid"), **SUM_MONEY, default=0)
    hifp_pay = models.DecimalField(_("pooled fund paid"), **SUM_MONEY, default=0)
    maf_pay = models.DecimalField(_("medical assistance paid"), **SUM_MONEY, default=0)
    acct_pay = models.DecimalField(_("personal account paid"), **SUM_MONEY, default=0)
    psn_cash_pay = models.DecimalField(_("cash paid"), **SUM_MONEY, default=0)

    class Meta:
        ordering = ["-month", "facility"]
        verbose_name = _("monthly settlement total")
        verbose_name_plural = _("monthly settlement totals")
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["facility", "month", "insutype", "clr_type"],
                                    name="settlements_monthstat_unique"),
        ]
        indexes = [models.Index(fields=["month", "facility"], name="settlements_monthstat_month")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.facility_id} {self.insutype}/{self.clr_type}"


class PlatformCode(models.Model):
    """One code of a code dictionary of the national medical-security platform (险种类型 insutype,
    医疗类别 med_type, 清算类别 clr_type …), against which uploads are checked
    (`clinics.settlements.dictionaries`). The core codes of `../shared/docs/insurance-platform.md`
    §3a–3f are shipped (`platform_codes.SHIPPED`, loaded by migration 0014 and after every
    migrate); Guangxi's local additions are entered in admin (`local`). A code is disabled, not
    deleted, once settlements use it; shipped codes are never deleted."""

    class Dictionary(models.TextChoices):
        INSUTYPE = "insutype", _("insurance type")
        MED_TYPE = "med_type", _("medical category")
        CLR_TYPE = "clr_type", _("clearing type")
        PSN_TYPE = "psn_type", _("person category")
        CLR_WAY = "clr_way", _("clearing method")
        PSN_CERT_TYPE = "psn_cert_type", _("person's certificate type")
        MDTRT_CERT_TYPE = "mdtrt_cert_type", _("visit credential type")
        PSN_SETLWAY = "psn_setlway", _("personal settlement method")

    dictionary = models.CharField(_("dictionary"), max_length=20, choices=Dictionary.choices)
    code = models.CharField(_("code"), max_length=6, help_text=_("As the platform sends it (C6): digits or letters."))
    name = models.CharField(_("name"), max_length=100)
    enabled = models.BooleanField(
        _("enabled"), default=True, help_text=_("Uploads carrying a disabled code are rejected; recorded ones keep it.")
    )
    local = models.BooleanField(
        _("local addition"), default=False,
        help_text=_("Added for Guangxi (from the platform's 1901 dictionary download or the bureau), not shipped."),
    )
    source = models.CharField(
        _("source"), max_length=200, blank=True,
        help_text=_("Where the code comes from: the source key of the platform document, or the bureau's notice."),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["dictionary", "code"]
        verbose_name = _("platform code")
        verbose_name_plural = _("platform codes")
        constraints = [
            models.UniqueConstraint(
                fields=["dictionary", "code"],
                name="settlements_platform_code_unique",
                violation_error_message=_("This dictionary already has this code."),
            ),
        ]

    def __str__(self):
        return f"{self.get_dictionary_display()} {self.code} {self.name}"

    def clean(self):
        try:
            self.code = platform_code_value(self.code)
        except ValidationError as exc:
            raise ValidationError({"code": exc.error_list}) from exc
        self.name = (self.name or "").strip()


PLATFORM_CODE_RE = re.compile(r"[A-Z0-9]{1,6}")


def platform_code_value(value) -> str:
    """A dictionary code as stored and compared: NFKC (full-width １１ typed by an input method is 11),
    trimmed, upper case; 1–6 ASCII letters or digits (the platform's C6), else refused."""
    code = normalize_code(value).upper()
    if not PLATFORM_CODE_RE.fullmatch(code):
        raise ValidationError(
            _("A platform code has 1 to 6 ASCII digits or letters (for example 390 or 1101), not “%(value)s”."),
            code="platform_code_format", params={"value": value},
        )
    return code
