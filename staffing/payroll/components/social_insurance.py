"""Social insurance, the employee share (个人缴费): the doctor's scheme (the default scheme without
a pay profile), withheld in full for any month with employed days; base × rate, or the scheme's
flat amount."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import Withholding
from staffing.payroll.models import FundingSource, InsuranceScheme, PayProfile
from staffing.payroll.money import money


@register
class SocialInsurance(Withholding):
    code = "social_insurance"
    order = 200
    label = _("Social insurance (employee share)")
    funding = ((FundingSource.DOCTOR, 1),)

    def prepare(self, ctx):
        profiles = {p.doctor_id: p for p in PayProfile.objects.select_related("scheme")}
        return profiles, InsuranceScheme.objects.filter(is_default=True).first()

    def lines(self, ctx, pay, data) -> None:
        profiles, default_scheme = data
        profile = profiles.get(pay.doctor.pk)
        scheme = profile.scheme if profile and profile.scheme_id else default_scheme
        if not scheme or not pay.employed_days or (profile and profile.exempt_from_insurance):
            return
        if scheme.flat_amount is not None:
            quantity, rate = Decimal(1), scheme.flat_amount
        else:
            quantity, rate = scheme.contribution_base, scheme.employee_rate
        line = self.add(ctx, pay, description=ctx.shared(("scheme_name", scheme.pk), lambda: str(scheme)), quantity=quantity, rate=rate, amount=money(quantity * rate),
                        source={"scheme": scheme.code})
        if line is not None:
            pay.social_insurance = line.amount
