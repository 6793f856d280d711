from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayrollConfig(AppConfig):
    name = "staffing.payroll"
    label = "payroll"
    verbose_name = _("Payroll")

    def ready(self):
        from clinics.models import Role
        from clinics.scoping import register_scoper, scope_queryset
        from core.portal import register_menu_item
        from staffing.payroll.models import PayRun, Payslip

        register_scoper(PayRun, scope_payruns)
        register_scoper(Payslip, lambda queryset, user: scope_queryset(queryset, user, facility_path="facility"))

        from staffing.services.postings import register_posting_end_guard

        register_posting_end_guard(released_pay_guard)

        from staffing.payroll import jobs  # noqa: F401  registers the pay run's job kinds
        from staffing.payroll.bankfiles import checks as _bank_checks  # noqa: F401  the bank files' warning kinds
        from staffing.payroll.bankfiles import jobs as _bank_jobs  # noqa: F401  the bank files' job kind
        from staffing.payroll.tax import jobs as _tax_jobs  # noqa: F401  the tax filing's job kind

        register_menu_item(key="payslips", label=_("My payslips"), url_name="payroll:index", roles={Role.VILLAGE_DOCTOR}, order=40, icon="payslip",
                           offline=True)


def released_pay_guard(*, posting, end_date):
    """A posting does not end inside or before a month the doctor's pay run has approved or paid
    (the bank file paid days the posting would no longer hold): end it after that month."""
    import datetime

    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from core.months import month_end
    from staffing.models import Posting
    from staffing.payroll.selectors import released_pay_months

    # Only the days the posting gives up: from the day after the new end to its stored end.
    stored_end = Posting.objects.filter(pk=posting.pk).values_list("end_date", flat=True).first()
    months = released_pay_months(doctor_id=posting.doctor_id, start=end_date + datetime.timedelta(days=1), end=stored_end)
    if months:
        last = months[0]
        last_day = month_end(last)
        raise ValidationError(
            {"end_date": _("The doctor's pay for %(month)s is already approved or paid: end the posting on %(date)s or later, "
                           "or ask the county health bureau to correct that month's pay first.")
             % {"month": last.strftime("%Y-%m"), "date": last_day.isoformat()}}
        )


def scope_payruns(queryset, user):
    """Runs a user may act on: every run for county-wide roles, their own township's runs for a
    township admin (a county-wide run holds every township's pay), none for anyone else."""
    from clinics.models import Role
    from clinics.scoping import is_county_wide, user_role

    if is_county_wide(user):
        return queryset
    if user_role(user) == Role.TOWNSHIP_ADMIN:
        return queryset.filter(township_id=user.scope.township_id)
    return queryset.none()
