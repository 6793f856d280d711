"""Admin display helpers of the review: money columns in the one format, quantities and rates
without trailing zeros, a run's grouped warnings and a payslip's warnings as sentences."""

from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from staffing.payroll.money import yuan
from staffing.payroll.review.sentences import number
from staffing.payroll.review.warnings import warning_kind, warning_sentence


def _verbose_name(obj, field: str):
    return obj._meta.get_field(field).verbose_name


def money_display(field: str, description=None):
    """A list or read-only column showing `field` as 545,600.00 (sortable by the field). The
    column's title is the model field's verbose name, looked up when the column is shown."""

    def show(self, obj):
        return yuan(getattr(obj, field))

    show.__name__ = f"{field}_display"
    return admin.display(description=description or _LazyTitle(field), ordering=field)(show)


def line_number_display(field: str):
    def show(self, obj):
        return number(getattr(obj, field))

    show.__name__ = f"{field}_display"
    return admin.display(description=_LazyTitle(field))(show)


class _LazyTitle:
    """The verbose name of `field` on the model of the admin showing it (admin asks str() of the
    description per request, in the request's language)."""

    def __init__(self, field: str):
        self.field = field

    def __str__(self):
        from staffing.payroll.models import PayRun, Payslip, PayslipLine

        for model in (PayRun, Payslip, PayslipLine):
            try:
                return str(model._meta.get_field(self.field).verbose_name)
            except Exception:  # noqa: BLE001 - FieldDoesNotExist: try the next model
                continue
        return self.field


def warnings_html(review) -> str:
    return render_to_string("admin/payroll/payrun/_warnings.html", {"review": review})


def payslip_warnings_html(slip):
    if not slip.warnings:
        return _("None")
    return format_html(
        "<ul class=\"payslip-warnings\">{}</ul>",
        format_html_join("", "<li><strong>{}</strong>：{}</li>",
                         ((warning_kind(w.get("code") if isinstance(w, dict) else None).label, warning_sentence(w)) for w in slip.warnings)),
    )


def doctors_warned_count():
    """Annotation for a PayRun queryset: how many of the run's payslips carry warnings (one
    subquery, so a list of runs stays one query)."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from staffing.payroll.models import Payslip

    warned = (Payslip.objects.filter(run=OuterRef("pk")).exclude(warnings=[]).order_by().values("run")
              .annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(warned, output_field=IntegerField()), 0)


def warning_count_text(run) -> str:
    """"2 on the run · 6 doctors" for the list of runs (the review page has the groups)."""
    doctors = getattr(run, "doctors_warned", None)
    about_run = len(run.warnings or [])
    if doctors is None:
        return str(about_run)
    if not doctors and not about_run:
        return "0"
    return _("%(run)d on the run · %(doctors)d doctors") % {"run": about_run, "doctors": doctors}
