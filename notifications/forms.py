from django import forms
from django.utils.translation import gettext_lazy as _

CHECKBOX = {"style": "width:22px;height:22px;margin:0"}


class PreferenceForm(forms.Form):
    email_enabled = forms.BooleanField(label=_("Send me e-mail"), required=False, widget=forms.CheckboxInput(CHECKBOX))
    sms_enabled = forms.BooleanField(label=_("Send me SMS"), required=False, widget=forms.CheckboxInput(CHECKBOX))
    mobile = forms.CharField(
        label=_("Mobile for SMS"),
        max_length=11,
        required=False,
        help_text=_("Leave empty to use the mobile in the doctor register."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        label=_("E-mail for notifications"), required=False, help_text=_("Leave empty to use your account's e-mail.")
    )
