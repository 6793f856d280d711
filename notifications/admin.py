from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import AuditedAdminMixin
from core.validators import mask_mobile
from notifications import registry
from notifications.access import may_manage
from notifications.channels import mask_address, mask_email
from notifications.default_templates import DEFAULT_TEMPLATES
from notifications.models import Notification, NotificationPreference, NotificationTemplate
from notifications.selectors import channel_switches
from notifications.services import cancel_pending_rows, check_template_source, notification_retry, preference_update


class ManagersOnlyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Notifications are not tied to a facility: only the roles registered as managers
    (notifications.access: county-wide roles) see or add them, whatever permissions a group holds."""

    list_per_page = 50
    # Looked up from the URL, these would confirm a guessed value by the result count.
    secret_lookups = frozenset({"address", "claim_token", "dedupe_key", "external_id", "mobile", "email"})

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if may_manage(request.user) else queryset.none()

    def has_add_permission(self, request, *args):
        return may_manage(request.user) and super().has_add_permission(request, *args)

    def lookup_allowed(self, lookup, value, request=None):
        if self.secret_lookups.intersection(lookup.split("__")):
            return False
        return super().lookup_allowed(lookup, value, request)



@admin.register(Notification)
class NotificationAdmin(ManagersOnlyAdmin):
    list_display = ["id", "kind", "recipient", "channel", "masked_address", "status", "attempts", "due_at",
                    "sent_at", "short_error"]  # fmt: skip
    list_filter = ["status", "channel", "kind"]
    search_fields = ["recipient__username", "subject"]
    list_select_related = ["recipient"]
    ordering = ["-due_at", "-id"]
    actions = ["retry_failed", "cancel_selected"]
    fields = ["kind", "recipient", "channel", "masked_address", "about_display", "subject", "text", "link",
              "status", "attempts", "due_at", "next_attempt_at", "sent_at", "read_at", "last_error", "created_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("address"))
    def masked_address(self, obj):
        return mask_address(obj.channel, obj.address)

    @admin.display(description=_("text"))
    def text(self, obj):
        return obj.shown_body  # a one-time password stays masked here, even before it is sent

    @admin.display(description=_("about"))
    def about_display(self, obj):
        return f"{obj.content_type} #{obj.object_id}"

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.action(description=_("Retry the selected failed notifications"))
    def retry_failed(self, request, queryset):
        count = notification_retry(ids=queryset.values_list("pk", flat=True), acting_user=request.user)
        if count:
            self.message_user(
                request,
                ngettext("%(count)d notification queued again.", "%(count)d notifications queued again.", count)
                % {"count": count},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, _("None of the selected notifications has failed; nothing to retry."), messages.WARNING)

    @admin.action(description=_("Cancel the selected notifications not sent yet"))
    def cancel_selected(self, request, queryset):
        count = cancel_pending_rows(ids=queryset.values_list("pk", flat=True), acting_user=request.user)
        self.message_user(
            request,
            ngettext("%(count)d notification cancelled.", "%(count)d notifications cancelled.", count) % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )


class NotificationTemplateForm(forms.ModelForm):
    class Meta:
        model = NotificationTemplate
        fields = ["kind", "subject", "body", "is_active"]

    def clean_subject(self):
        check_template_source(self.cleaned_data["subject"])
        return self.cleaned_data["subject"]

    def clean_body(self):
        check_template_source(self.cleaned_data["body"])
        return self.cleaned_data["body"]


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(ManagersOnlyAdmin):
    form = NotificationTemplateForm
    list_display = ["kind", "subject", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["subject", "body"]
    readonly_fields = ["built_in_text", "updated_at"]

    @admin.display(description=_("built-in text"))
    def built_in_text(self, obj):
        subject, body = DEFAULT_TEMPLATES.get(obj.kind, ("", ""))
        return f"{subject}\n{body}"

    def has_delete_permission(self, request, obj=None):
        return False


class PreferenceAdminForm(forms.ModelForm):
    """The addresses, and one switch per registered channel (`switch_fields`, declared per request
    because channels register after the admin loads); saved through preference_update."""

    class Meta:
        model = NotificationPreference
        fields = ["user", "mobile", "email"]

    @staticmethod
    def switch_fields() -> dict:
        return {
            f"{spec.code}_enabled": forms.BooleanField(label=spec.preference_label or spec.label, required=False)
            for spec in registry.switchable_channels()
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = channel_switches(user=self.instance.user) if self.instance.user_id else {}
        for spec in registry.switchable_channels():
            if f"{spec.code}_enabled" in self.fields:
                self.fields[f"{spec.code}_enabled"].initial = current.get(spec.code, spec.enabled_by_default)


class ChannelsOffFilter(admin.SimpleListFilter):
    title = _("channel switched off")
    parameter_name = "off"

    def lookups(self, request, model_admin):
        return [(spec.code, spec.label) for spec in registry.switchable_channels()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                user__channel_preferences__channel=self.value(), user__channel_preferences__enabled=False
            )
        return queryset


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ManagersOnlyAdmin):
    form = PreferenceAdminForm
    list_display = ["user", "channels_display", "masked_mobile", "masked_email", "updated_at"]
    list_filter = [ChannelsOffFilter]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user__channel_preferences")

    def get_fields(self, request, obj=None):
        return ["user", *[f"{spec.code}_enabled" for spec in registry.switchable_channels()], "mobile", "email"]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = type("PreferenceAdminForm", (PreferenceAdminForm,), PreferenceAdminForm.switch_fields())
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        switches = {f"{spec.code}_enabled": data.get(f"{spec.code}_enabled", False) for spec in registry.switchable_channels()}
        saved = preference_update(user=data["user"], acting_user=request.user, mobile=data.get("mobile", ""),
                                  email=data.get("email", ""), **switches)  # fmt: skip
        obj.pk = saved.pk

    @admin.display(description=_("channels"))
    def channels_display(self, obj):
        chosen = {row.channel: row.enabled for row in obj.user.channel_preferences.all()}
        return " · ".join(
            f"{spec.label}{'✓' if chosen.get(spec.code, spec.enabled_by_default) else '✗'}"
            for spec in registry.switchable_channels()
        )

    @admin.display(description=_("mobile for SMS"))
    def masked_mobile(self, obj):
        return mask_mobile(obj.mobile)

    @admin.display(description=_("e-mail for notifications"))
    def masked_email(self, obj):
        return mask_email(obj.email) if obj.email else ""
