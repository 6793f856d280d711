from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telemedicine import conf
from telemedicine.models import ConsultBooking
from telemedicine.selectors import department_list, referral_departments


class SlotSearchForm(forms.Form):
    # Empty: every department (the page opens with the open slots of all of them).
    department = forms.ModelChoiceField(
        queryset=None, label=_("Department"), required=False, empty_label=_("All departments")
    )
    # Empty: the first day with a free slot in the department (the page fills it in).
    date = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = department_list()
        self.fields["department"].label_from_instance = lambda d: f"{d.facility.name} · {d.name}"

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day is None:
            return None
        if day < timezone.localdate():
            raise forms.ValidationError(_("Choose today or a later date."))
        if not conf.plausible_day(day):
            raise forms.ValidationError(_("Choose a date between 2000 and 2100."))
        return day


class BookingForm(forms.Form):
    patient_name = forms.CharField(label=_("Patient name"), max_length=50)
    patient_sex = forms.ChoiceField(label=_("Sex"), choices=ConsultBooking.Sex.choices, widget=forms.RadioSelect)
    patient_birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    patient_age = forms.IntegerField(label=_("or age (years)"), required=False, min_value=0, max_value=130)
    patient_id_number = forms.CharField(label=_("ID number (optional)"), required=False, max_length=18)
    poverty_household = forms.BooleanField(label=_("Poverty-alleviation household"), required=False)
    chief_complaint = forms.CharField(label=_("Chief complaint"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    urgency = forms.ChoiceField(label=_("Urgency"), choices=ConsultBooking.Urgency.choices, initial=ConsultBooking.Urgency.ROUTINE)
    mode = forms.ChoiceField(label=_("Mode"), choices=ConsultBooking.Mode.choices, initial=ConsultBooking.Mode.VIDEO)


class OutcomeForm(forms.Form):
    findings = forms.CharField(label=_("Findings"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    advice = forms.CharField(label=_("Advice"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    medication_advice = forms.CharField(
        label=_("Medication advice"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False
    )
    referral = forms.BooleanField(label=_("Refer to the county hospital"), required=False)
    referral_department = forms.ModelChoiceField(
        queryset=None, label=_("Referral department"), required=False, empty_label=_("No referral")
    )
    follow_up_date = forms.DateField(label=_("Follow-up date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referral_department"].queryset = referral_departments()
        self.fields["referral_department"].label_from_instance = lambda d: d.name
