"""General consultation fee (一般诊疗费): a rate per insured visit.

Visits a settlement names by the doctor's insurance practitioner code are the doctor's own. Visits
settled at the clinic without a practitioner are shared between the doctors whose pay clinic it
is, in proportion to their day duties on the published roster (payable days when the roster is
not published), in whole visits by the largest-remainder method so the shares add up to the
clinic's count."""

from collections import defaultdict

from django.utils.translation import gettext_lazy as _

from staffing.payroll.components import register
from staffing.payroll.components.kinds import PayComponent
from staffing.payroll.models import FundingSource
from staffing.payroll.money import allocate


@register
class ConsultationFee(PayComponent):
    code = "consultation_fee"
    order = 40
    label = _("General consultation fee")
    policy = True
    correctable = True
    funding = ((FundingSource.MEDICAL_INSURANCE, 1),)
    description = _("General consultation fee: %(own)d own + %(shared)d shared visits")

    def compute(self, ctx, pays, data) -> None:
        named = defaultdict(int)
        for facts in ctx.visits.values():
            for code, count in facts.by_practitioner.items():
                named[code] += int(count)
        by_facility = defaultdict(dict)
        for doctor_id, pay in pays.items():
            facts = ctx.duty.get(doctor_id)
            weight = len(facts.day_duty_dates) if facts and facts.published else pay.payable_days
            by_facility[pay.facility_id][doctor_id] = weight
        for facility_id, weights in by_facility.items():
            facts = ctx.visits.get(facility_id)
            shares = allocate(facts.unnamed if facts else 0, weights)
            for doctor_id in weights:
                pay = pays[doctor_id]
                part = self.part(ctx, pay)
                own = named.get(pay.doctor.insurance_code, 0) if pay.doctor.insurance_code else 0
                count = own + shares[doctor_id]
                if part is None or count == 0:
                    continue
                source = {
                    "facility_id": facility_id,
                    "named_visits": own,
                    "shared_visits": shares[doctor_id],
                    "clinic_unnamed_visits": facts.unnamed if facts else 0,
                    "share_basis": weights[doctor_id],
                    "share_basis_total": sum(weights.values()),
                }
                description = ctx.text(self.description) % {"own": own, "shared": shares[doctor_id]}
                self.add(ctx, pay, description=description, quantity=count, rate=part.amount, part=part, source=source)
