"""Admin forms of the dated pay inputs (policy versions with their contract fee, assessments,
one-off items): they run the services' entry checks in `clean`, so a refusal (a mid-month version
where the county refuses them, shares not adding up to 100%, a month outside the correction
window) is shown on the field with the form kept, not after a redirect. The services check again
when saving."""

from types import SimpleNamespace

from django import forms
from django.core.exceptions import ValidationError

from staffing.payroll.models import Assessment, OneOffItem, PayPolicy
from staffing.payroll.services.inputs import assessment_check, one_off_item_check
from staffing.payroll.services.policies import check_contract_fee, check_contract_fee_mode, check_effective_from

FEE_FIELDS = ["contract_fee_per_year", "contract_fee_insurance_share", "contract_fee_public_health_share", "contract_fee_resident_share"]


class PayPolicyForm(forms.ModelForm):
    class Meta:
        model = PayPolicy
        fields = "__all__"  # noqa: DJ007  every field the admin shows (its inlines and fieldsets decide)

    def clean(self):
        data = super().clean()
        for check in (lambda: check_effective_from(data.get("effective_from")),
                      lambda: check_contract_fee(SimpleNamespace(**{name: data.get(name) for name in FEE_FIELDS})),
                      lambda: check_contract_fee_mode(self._candidate(data))):
            try:
                check()
            except ValidationError as exc:
                self.add_error(None, exc)
        return data

    def _candidate(self, data) -> PayPolicy:
        candidate = PayPolicy(pk=self.instance.pk)
        for name in ["township", "effective_from", "contract_fee_payment", *FEE_FIELDS]:
            setattr(candidate, name, data.get(name))
        return candidate


class _EntryForm(forms.ModelForm):
    check = None
    keyword = ""

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        candidate = self._candidate(data)
        try:
            type(self).check(**{self.keyword: candidate})
        except ValidationError as exc:
            self.add_error(None, exc)
        return data

    def _candidate(self, data):
        candidate = self._meta.model(pk=self.instance.pk)
        names = {f.name for f in candidate._meta.concrete_fields}
        for name, value in data.items():
            if name in names:
                setattr(candidate, name, value)
        return candidate


class AssessmentForm(_EntryForm):
    check = staticmethod(assessment_check)
    keyword = "assessment"

    class Meta:
        model = Assessment
        exclude = ["recorded_by", "recorded_at"]  # noqa: DJ006  as the admin: fields added to the model appear


class OneOffItemForm(_EntryForm):
    check = staticmethod(one_off_item_check)
    keyword = "item"

    class Meta:
        model = OneOffItem
        exclude = ["entered_by", "entered_at"]  # noqa: DJ006  as the admin: fields added to the model appear
