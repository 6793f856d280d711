"""The contract register's models (imported by `staffing.payroll.models`, app label "payroll").
No import of `staffing.payroll.models` here: that module imports this one."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from staffing.models import Doctor


class ContractRegister(models.Model):
    """A doctor's family-doctor contracts of one service year: how many residents (and households)
    signed, from which list, and the year's assessment when the fee is paid by assessment."""

    doctor = models.ForeignKey(Doctor, verbose_name=_("doctor"), on_delete=models.PROTECT, related_name="contract_years")
    service_year = models.PositiveSmallIntegerField(_("service year"), help_text=_("The contract service year (签约服务年度), January to December."))
    residents = models.PositiveIntegerField(_("contracted residents"))
    households = models.PositiveIntegerField(_("contracted households"), null=True, blank=True,
                                             help_text=_("Distinct household numbers in the list; empty when the list gives none."))
    source = models.CharField(_("contract list"), max_length=200, help_text=_("The file (or demo data) the counts come from."))
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("imported by"), on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    assessment_score = models.DecimalField(_("year's assessment score"), max_digits=5, decimal_places=2, null=True, blank=True,
                                           help_text=_("0–100. When the policy pays the fee by assessment, it is paid once this is recorded, scaled by it."))
    assessment_recorded_at = models.DateTimeField(_("score recorded"), null=True, blank=True)
    assessment_paid_month = models.DateField(_("paid by assessment in month"), null=True, blank=True,
                                             help_text=_("The run that pays the fee by assessment (set when the score is first recorded)."))
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta:
        ordering = ["-service_year", "doctor__name"]
        verbose_name = _("contract register entry")
        verbose_name_plural = _("family-doctor contract register")
        constraints = [
            models.UniqueConstraint(fields=["doctor", "service_year"], name="payroll_contracts_once_per_doctor_year",
                                    violation_error_message=_("This doctor already has a register entry for this service year.")),
            models.CheckConstraint(condition=Q(assessment_score__isnull=True) | (Q(assessment_score__gte=0) & Q(assessment_score__lte=100)),
                                   name="payroll_contracts_score_0_100", violation_error_message=_("A score is between 0 and 100.")),
            models.CheckConstraint(condition=Q(service_year__gte=2000) & Q(service_year__lte=2100), name="payroll_contracts_year_range",
                                   violation_error_message=_("A service year is between 2000 and 2100.")),
        ]
        indexes = [models.Index(fields=["service_year"]), models.Index(fields=["assessment_paid_month"])]

    def __str__(self):
        return f"{self.doctor} {self.service_year}：{self.residents}"


class ResidentContract(models.Model):
    """One resident's contract in a register entry, as the county list gave it. The resident is
    kept by the keyed hash of the ID number (to find repeats across lists) and a masked form
    (to show); the ID number itself is not stored."""

    register = models.ForeignKey(ContractRegister, verbose_name=_("register entry"), on_delete=models.CASCADE, related_name="contracts")
    service_year = models.PositiveSmallIntegerField(_("service year"))
    resident_key = models.CharField(_("resident ID lookup hash"), max_length=64, editable=False)
    resident_id_masked = models.CharField(_("resident ID number (masked)"), max_length=20)
    resident_name_masked = models.CharField(_("resident (masked)"), max_length=50)
    signed_on = models.DateField(_("signed on"))
    package = models.CharField(_("service package"), max_length=100, blank=True)
    household = models.CharField(_("household number"), max_length=40, blank=True)
    row_number = models.PositiveIntegerField(_("row in the list"))

    class Meta:
        ordering = ["register", "row_number"]
        verbose_name = _("resident contract")
        verbose_name_plural = _("resident contracts")
        constraints = [
            models.UniqueConstraint(fields=["service_year", "resident_key"], name="payroll_resident_one_contract_per_year",
                                    violation_error_message=_("This resident already has a contract for this service year.")),
        ]

    def __str__(self):
        return f"{self.resident_name_masked} {self.resident_id_masked}"
