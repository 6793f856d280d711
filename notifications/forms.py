from django import forms
from django.utils.translation import gettext_lazy as _

from notifications import registry

CHECKBOX = {"style": "width:22px;height:22px;margin:0"}


class PreferenceForm(forms.Form):
    """One checkbox per registered channel a user may switch (in the registry's order), then the
    addresses the user may type."""

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        addresses = dict(self.fields)
        self.fields.clear()
        for spec in registry.switchable_channels():
            self.fields[f"{spec.code}_enabled"] = forms.BooleanField(
                label=spec.preference_label or spec.label,
                required=False,
                widget=forms.CheckboxInput(CHECKBOX),
                help_text="" if spec.is_available() else _("Not in use here yet: your choice applies once it is set up."),
            )
        self.fields.update(addresses)
