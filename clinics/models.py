"""The ground floor: townships, facilities and their departments, who may see what (roles and
reach). The audit trail every app writes to is `core.models.AuditEntry`."""

import datetime
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.validators import normalize_code, validate_code

PLATFORM_CODE_RE = re.compile(r"H[0-9]{11}")


def validate_platform_code(value, *, admdvs: str = "") -> str:
    """A clinic's platform institution code (定点医药机构编号): NFKC and upper case first (ｈ４５… typed
    by an input method is H45…), then "H" and 11 digits, digits 2–7 the county's `admdvs` when it is
    known. Empty stays empty."""
    code = normalize_code(value).upper()
    if not code:
        return ""
    if not PLATFORM_CODE_RE.fullmatch(code):
        raise ValidationError(
            _("A platform institution code is H followed by 11 digits (for example H45102800001), not “%(value)s”."),
            code="platform_code_format", params={"value": value},
        )
    if admdvs and code[1:7] != admdvs:
        raise ValidationError(
            _("A platform institution code of this county starts with H%(admdvs)s (H and the county's division code), "
              "not “%(value)s”."),
            code="platform_code_county", params={"admdvs": admdvs, "value": code},
        )
    return code


def clean_code_field(instance, field: str = "code") -> None:
    """A typed code is stored NFKC-normalised (full-width １２３ as 123) or refused, so one clinic or
    township cannot exist twice in two spellings; runs before the uniqueness check."""
    try:
        setattr(instance, field, validate_code(getattr(instance, field)))
    except ValidationError as exc:
        raise ValidationError({field: exc.error_list})


class Township(models.Model):
    class Kind(models.TextChoices):
        TOWN = "town", _("Town (镇)")
        TOWNSHIP = "township", _("Township (乡)")

    code = models.CharField(_("statistical code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = _("township")
        verbose_name_plural = _("townships")

    def __str__(self):
        return self.name

    def clean(self):
        clean_code_field(self)


class Facility(models.Model):
    class Kind(models.TextChoices):
        COUNTY_HOSPITAL = "county_hospital", _("County hospital")
        TOWNSHIP_CENTRE = "township_centre", _("Township health centre")
        VILLAGE_CLINIC = "village_clinic", _("Village clinic")

    class VillageKind(models.TextChoices):
        VILLAGE = "village", _("Village")
        COMMUNITY = "community", _("Community")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(
        _("code"),
        max_length=12,
        unique=True,
        help_text=_("12-digit statistical division code for a village clinic; an internal code otherwise."),
    )
    # NULL, not "", when not set: several clinics without one never clash in the unique index.
    platform_code = models.CharField(  # noqa: DJ001
        _("platform institution code"),
        max_length=12,
        unique=True,
        null=True,
        blank=True,
        help_text=_(
            "定点医药机构编号 the national medical-insurance platform gave the clinic: H and 11 digits, digits 2–7 "
            "the county's division code (H451028… in Leye). Uploads may name the clinic by either code."
        ),
        error_messages={"unique": _("Another clinic already has this platform institution code.")},
    )
    township = models.ForeignKey(
        Township, verbose_name=_("township"), on_delete=models.PROTECT, related_name="facilities", null=True, blank=True
    )
    village = models.CharField(_("village or community"), max_length=50, blank=True)
    village_kind = models.CharField(_("village kind"), max_length=10, choices=VillageKind.choices, blank=True)
    telemedicine_enabled = models.BooleanField(_("telemedicine link"), default=False)
    settlement_enabled = models.BooleanField(_("insurance settlement enabled"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    morning_start = models.TimeField(_("morning opens"), default=datetime.time(8, 0))
    morning_end = models.TimeField(_("morning closes"), default=datetime.time(12, 0))
    afternoon_start = models.TimeField(_("afternoon opens"), default=datetime.time(14, 30))
    afternoon_end = models.TimeField(_("afternoon closes"), default=datetime.time(18, 30))
    target_doctors = models.PositiveSmallIntegerField(_("target number of doctors"), default=2)
    is_demo = models.BooleanField(_("demo data"), default=False)
    # Counted up by every change of the opening hours, which move every duty's times in the doctors'
    # calendar feeds: the feed adds it to each event's SEQUENCE, so the change reads as an amendment.
    hours_revision = models.PositiveIntegerField(_("opening hours revision"), default=0, editable=False)
    hours_changed_at = models.DateTimeField(_("opening hours last changed"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="village_clinic") | Q(code__regex=r"^[0-9]{12}$"),
                name="village_clinic_code_12_digits",
                violation_error_message=_("A village clinic's code must be its 12-digit division code."),
            ),
            models.CheckConstraint(
                condition=Q(morning_start__lt=models.F("morning_end"))
                & Q(afternoon_start__lt=models.F("afternoon_end"))
                & Q(morning_end__lte=models.F("afternoon_start")),
                name="facility_hours_in_order",
                violation_error_message=_("Opening hours must run morning before afternoon, each start before its end."),
            ),
        ]
        indexes = [models.Index(fields=["township", "kind"])]

    def __str__(self):
        return self.name

    def clean(self):
        clean_code_field(self)
        try:
            self.platform_code = validate_platform_code(self.platform_code, admdvs=self.admdvs) or None
        except ValidationError as exc:
            raise ValidationError({"platform_code": exc.error_list}) from exc
        self._clean_codes_apart()

    def _clean_codes_apart(self) -> None:
        """An upload may name a clinic by either code, so no clinic's division code may be another
        clinic's platform code (or the reverse): which clinic a row meant would be a guess."""
        others = Facility.objects.exclude(pk=self.pk) if self.pk else Facility.objects.all()
        if self.platform_code and others.filter(code=self.platform_code).exists():
            raise ValidationError({"platform_code": ValidationError(
                _("This platform institution code is another clinic's code in the register."), code="code_taken",
            )})
        if self.code and others.filter(platform_code=self.code).exists():
            raise ValidationError({"code": ValidationError(
                _("This code is another clinic's platform institution code."), code="code_taken",
            )})

    @property
    def admdvs(self) -> str:
        """The 6-digit county division code (医保区划) the clinic lies in: the first 6 digits of its
        12-digit division code, else of its township's code, else setting INSURANCE_ADMDVS."""
        for code in (self.code, self.township.code if self.township_id else ""):
            if code and re.fullmatch(r"[0-9]{9}(?:[0-9]{3})?", code):
                return code[:6]
        return settings.INSURANCE_ADMDVS

    @property
    def daily_hours(self) -> float:
        def minutes(start, end):
            return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)

        return (minutes(self.morning_start, self.morning_end) + minutes(self.afternoon_start, self.afternoon_end)) / 60

    @property
    def opening_hours_display(self) -> str:
        fmt = "%H:%M"
        return (
            f"{self.morning_start:{fmt}}–{self.morning_end:{fmt}}, "
            f"{self.afternoon_start:{fmt}}–{self.afternoon_end:{fmt}}"
        )


class Department(models.Model):
    """A clinical department of the county hospital or a township health centre."""

    facility = models.ForeignKey(
        Facility, verbose_name=_("facility"), on_delete=models.CASCADE, related_name="departments"
    )
    name = models.CharField(_("name"), max_length=50)
    code = models.CharField(_("code"), max_length=20)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["facility__code", "code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "code"],
                name="department_code_unique_per_facility",
                violation_error_message=_("This facility already has a department with this code."),
            )
        ]

    def __str__(self):
        return f"{self.facility.name} · {self.name}"


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", _("County health-bureau admin")
    TOWNSHIP_ADMIN = "township_admin", _("Township admin")
    PAYROLL_OFFICER = "payroll_officer", _("Payroll officer")
    INSURANCE_CLERK = "insurance_clerk", _("Insurance clerk")
    VILLAGE_DOCTOR = "village_doctor", _("Village doctor")
    CONSULTANT = "consultant", _("Consultant")
    API_CLIENT = "api_client", _("API client (insurance terminal)")


class UserScope(models.Model):
    """A user's role and reach: the whole county, one township, or one facility."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="scope"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    township = models.ForeignKey(
        Township, verbose_name=_("township"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    facility = models.ForeignKey(
        Facility, verbose_name=_("facility"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Set with a one-time password (a new login, a reset): every page leads to "set your own
    # password" until the user has (clinics.password_change).
    must_change_password = models.BooleanField(_("must change password"), default=False)

    class Meta:
        ordering = ["user__username"]
        verbose_name = _("user role and reach")
        verbose_name_plural = _("user roles and reach")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="township_admin") | Q(township__isnull=False),
                name="township_admin_has_township",
                violation_error_message=_("A township admin must be given a township."),
            ),
            models.CheckConstraint(
                condition=~Q(role__in=["village_doctor", "api_client", "consultant"]) | Q(facility__isnull=False),
                name="facility_role_has_facility",
                violation_error_message=_("A village doctor, consultant or API client must be given a facility."),
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()}"
