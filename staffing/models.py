"""The doctor register: village doctors (and consultants' home records), licences and postings."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.models import Facility
from core.hashing import keyed_hash
from core.validators import (
    mask_account,
    mask_id_number,
    normalize_code,
    resident_id_birth_date,
    resident_id_sex,
    validate_birth_date,
    validate_code,
    validate_mobile,
    validate_resident_id,
)
from notifications.wecom import validate_wecom_userid

# 国家医保医师代码: declared C20 by the platform; the only sample seen is D + 12 digits
# (../shared/docs/insurance-platform.md §3h), so letters and digits up to 20, nothing narrower.
PRACTITIONER_CODE_LENGTH = 20
PRACTITIONER_CODE_RE = re.compile(r"[A-Z0-9]{1,20}")


def validate_practitioner_code(value) -> str:
    """A national insurance practitioner code (国家医保医师代码) as stored and compared: NFKC (the
    full-width ｄ１２３ an input method types is D123), trimmed, upper case; then 1–20 ASCII letters
    and digits. Empty stays empty."""
    code = normalize_code(value).upper()
    if code and not PRACTITIONER_CODE_RE.fullmatch(code):
        raise ValidationError(
            _("A national insurance practitioner code has up to 20 ASCII letters and digits (for example "
              "D451028000001), with no spaces or other characters; not “%(value)s”."),
            code="code_format", params={"value": value},
        )
    return code


def doctor_label(name: str, is_demo: bool) -> str:
    """How a doctor is named on screens, in files and in the audit trail (`Doctor.__str__`, the pay
    run's rows without instances): a demo doctor's name carries the "(demo)" mark, in the
    language of the moment. The one home of that mark for doctors."""
    return name + gettext("(demo)") if is_demo else name


class Doctor(models.Model):
    class Sex(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Qualification(models.TextChoices):
        PHYSICIAN = "physician", _("Licensed physician (执业医师)")
        ASSISTANT = "assistant", _("Licensed assistant physician (执业助理医师)")
        VILLAGE_DOCTOR = "village_doctor", _("Rural doctor (乡村医生)")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        LEFT = "left", _("Left")

    name = models.CharField(_("full name"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    id_number = models.CharField(_("resident ID number"), max_length=18, unique=True)
    id_number_hash = models.CharField(_("ID number lookup hash"), max_length=64, unique=True, editable=False)
    mobile = models.CharField(_("mobile"), max_length=11)
    wecom_userid = models.CharField(
        _("WeChat Work user ID"),
        max_length=64,
        blank=True,
        validators=[validate_wecom_userid],
        help_text=_("The doctor's UserID in the county's WeChat Work (企业微信); notifications go there too when set."),
    )
    qualification = models.CharField(_("qualification"), max_length=20, choices=Qualification.choices)
    licence_number = models.CharField(_("licence number"), max_length=40, blank=True)
    licence_expiry = models.DateField(_("licence expires"), null=True, blank=True)
    insurance_code = models.CharField(
        _("national insurance practitioner code"),
        max_length=PRACTITIONER_CODE_LENGTH,
        unique=True,
        null=True,
        blank=True,
        help_text=_(
            "The 国家医保医师代码 the medical-insurance platform gave the doctor (up to 20 letters and digits, "
            "for example D451028000001): settlements name the attending doctor by it (atddr_no)."
        ),
        error_messages={"unique": _("Another doctor already has this national insurance practitioner code.")},
    )
    status = models.CharField(_("employment status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    hire_date = models.DateField(_("hire date"))
    exit_date = models.DateField(_("exit date"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="doctor",
    )
    bank_name = models.CharField(_("bank"), max_length=50, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=30, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("doctor")
        verbose_name_plural = _("doctors")
        constraints = [
            models.CheckConstraint(
                condition=Q(exit_date__isnull=True) | Q(exit_date__gte=models.F("hire_date")),
                name="doctor_exit_after_hire",
                violation_error_message=_("The exit date cannot be before the hire date."),
            ),
            models.CheckConstraint(
                condition=Q(mobile__regex=r"^1[3-9][0-9]{9}$"),
                name="doctor_mobile_format",
                violation_error_message=_("A mobile number has 11 digits and starts with 13–19."),
            ),
            models.UniqueConstraint(
                Lower("wecom_userid"),
                condition=~Q(wecom_userid=""),
                name="doctor_wecom_userid_unique",
                violation_error_message=_("Another doctor already has this WeChat Work user ID."),
            ),
        ]
        indexes = [
            models.Index(fields=["licence_expiry"]),
            models.Index(fields=["status"]),
            # The admin list's order (Meta.ordering): its first page reads the index, not a sort of
            # the province's doctors (issue 18).
            models.Index(fields=["name", "id"], name="doctor_list_order"),
        ]

    def __str__(self):
        return doctor_label(self.name, self.is_demo)

    def save(self, *args, **kwargs):
        self.id_number_hash = keyed_hash(self.id_number)
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        try:
            self.id_number = validate_resident_id(self.id_number)
        except ValidationError as exc:
            errors["id_number"] = exc.messages
        else:
            if self.birth_date and resident_id_birth_date(self.id_number) != self.birth_date:
                errors["birth_date"] = [_("The birth date does not match the one in the ID number (digits 7–14).")]
            if self.sex and resident_id_sex(self.id_number) != self.sex:
                errors["sex"] = [_("The sex does not match the ID number (the 17th digit is odd for male, even for female).")]
        try:
            validate_birth_date(self.birth_date)
        except ValidationError as exc:  # an impossible date says so before any mismatch
            errors["birth_date"] = exc.error_list
        try:
            self.mobile = validate_mobile(self.mobile)
        except ValidationError as exc:
            errors["mobile"] = exc.messages
        try:
            self.licence_number = validate_code(self.licence_number, allow_chinese=True)
        except ValidationError as exc:
            errors["licence_number"] = exc.error_list
        try:
            # An empty practitioner code is stored as NULL (the column is unique but optional).
            self.insurance_code = validate_practitioner_code(self.insurance_code) or None
        except ValidationError as exc:
            errors["insurance_code"] = exc.error_list
        if self.exit_date and self.hire_date and self.exit_date < self.hire_date:
            errors["exit_date"] = [_("The exit date cannot be before the hire date.")]
        if errors:
            raise ValidationError(errors)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def bank_account_masked(self) -> str:
        return mask_account(self.bank_account)


class Posting(models.Model):
    """A doctor works at one facility over a date range; at most one open posting per doctor."""

    doctor = models.ForeignKey(Doctor, verbose_name=_("doctor"), on_delete=models.CASCADE, related_name="postings")
    facility = models.ForeignKey(
        Facility, verbose_name=_("facility"), on_delete=models.PROTECT, related_name="postings"
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        ordering = ["-start_date", "id"]
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        constraints = [
            models.UniqueConstraint(
                fields=["doctor"],
                condition=Q(end_date__isnull=True),
                name="one_open_posting_per_doctor",
                violation_error_message=_("This doctor already has an open posting; close it or move the doctor."),
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="posting_end_after_start",
                violation_error_message=_("A posting cannot end before it starts."),
            ),
        ]
        indexes = [models.Index(fields=["facility", "start_date", "end_date"])]

    def __str__(self):
        until = self.end_date or "…"
        return f"{self.doctor} @ {self.facility} ({self.start_date} – {until})"

    def covers(self, day) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


class ClinicCoverage(Facility):
    """The register's view of a facility: doctors posted and active against its target."""

    class Meta:
        proxy = True
        verbose_name = _("clinic coverage")
        verbose_name_plural = _("clinic coverage")
