from django import forms
from django.utils.translation import gettext_lazy as _

from staffing.rosters.models import LeaveRequest


class DateInput(forms.DateInput):
    input_type = "date"


class LeaveForm(forms.Form):
    kind = forms.ChoiceField(label=_("type of leave"), choices=LeaveRequest.Kind.choices)
    start_date = forms.DateField(label=_("from"), widget=DateInput)
    end_date = forms.DateField(label=_("until"), widget=DateInput)
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=500)
    # Made up by the phone's script for each new request; the same id sent again is the same request.
    client_ref = forms.RegexField(
        regex=r"^[A-Za-z0-9-]{8,64}$", required=False, widget=forms.HiddenInput,
        error_messages={"invalid": _("The request id from the phone is malformed; reload the page and send again.")},
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("Leave cannot end before it starts."))
        return data


class SwapForm(forms.Form):
    give_date = forms.TypedChoiceField(label=_("my on-call day to hand over"), coerce=forms.DateField().to_python)
    counterpart = forms.TypedChoiceField(label=_("colleague"), coerce=int)
    take_date = forms.DateField(
        label=_("their on-call day I take in return (optional)"), required=False, widget=DateInput
    )
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=500)

    def __init__(self, *args, give_dates=(), colleagues=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["give_date"].choices = [(d.isoformat(), f"{d:%Y-%m-%d}") for d in give_dates]
        self.fields["counterpart"].choices = [(c.pk, c.name) for c in colleagues]


class CoverForm(forms.Form):
    doctor = forms.TypedChoiceField(label=_("doctor who covers"), coerce=int)
    reason = forms.CharField(label=_("why"), required=False, max_length=200)

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].choices = [
            (c.doctor.pk, _("%(name)s · %(clinic)s · %(n)s on-call days this year")
             % {"name": c.doctor.name, "clinic": c.facility.name, "n": c.oncall_this_year})
            for c in candidates
        ]


class GenerateForm(forms.Form):
    month = forms.CharField(label=_("month"), help_text=_("YYYY-MM, e.g. 2026-12"), max_length=7)
    township = forms.ModelChoiceField(label=_("township"), queryset=None, required=False,
                                      empty_label=_("the whole county"))

    def __init__(self, *args, townships=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["township"].queryset = townships

    def clean_month(self):
        from core.months import parse_month

        return parse_month(self.cleaned_data["month"], field=None)


class FeedSettingsForm(forms.Form):
    """The doctor's choices for their calendar feed: a reminder before each duty, and its language."""

    PRESETS = (30, 60, 120, 720, 1440)

    alarm = forms.BooleanField(label=_("Remind me before each duty"), required=False)
    alarm_minutes = forms.TypedChoiceField(label=_("when"), coerce=int)
    language = forms.ChoiceField(label=_("language of the events"))

    def __init__(self, *args, current: int | None = None, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        offered = sorted({*self.PRESETS, settings.ICAL_ALARM_MINUTES_BEFORE, *([current] if current else [])})
        self.fields["alarm_minutes"].choices = [(m, self.minutes_label(m)) for m in offered]
        self.fields["language"].choices = settings.LANGUAGES

    @staticmethod
    def minutes_label(minutes: int) -> str:
        if minutes == 720:
            return _("the evening before (12 hours before)")
        if minutes == 60:
            return _("1 hour before")
        if minutes == 1440:
            return _("1 day before")
        if minutes % 60 == 0:
            return _("%(n)s hours before") % {"n": minutes // 60}
        return _("%(n)s minutes before") % {"n": minutes}


class ReassignForm(forms.Form):
    """Who takes a draft's duty instead: the clinic's other doctors, each with the reason they
    cannot take it when they cannot (chosen anyway, the service refuses and says why)."""

    doctor = forms.TypedChoiceField(label=_("doctor who takes the duty"), coerce=int)
    reason = forms.CharField(label=_("why (optional)"), required=False, max_length=200)

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].choices = [
            (c.doctor.pk, c.doctor.name if not c.problem else _("%(name)s — %(problem)s") % {"name": c.doctor.name, "problem": c.problem})
            for c in candidates
        ]


class GridForm(forms.Form):
    """The township and month a roster grid shows (GET)."""

    township = forms.ModelChoiceField(label=_("township"), queryset=None, empty_label=None)
    month = forms.CharField(label=_("month"), help_text=_("YYYY-MM, e.g. 2026-12"), max_length=7)

    def __init__(self, *args, townships=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["township"].queryset = townships
        self.fields["month"].widget.attrs.update({"type": "month"})

    def clean_month(self):
        from core.months import parse_month

        return parse_month(self.cleaned_data["month"], field=None)
