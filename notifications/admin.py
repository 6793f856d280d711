from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clinics.admin_base import ScopedAdmin
from core.validators import mask_mobile
from notifications.channels import mask_address, mask_email
from notifications.default_templates import DEFAULT_TEMPLATES
from notifications.models import Notification, NotificationPreference, NotificationTemplate
from notifications.services import cancel_pending_rows, check_template_source, notification_retry


class CountyOnlyAdmin(ScopedAdmin):
    """Notifications are not tied to a facility: only county-wide roles manage them."""

    facility_path = None
    county_only = True


@admin.register(Notification)
class NotificationAdmin(CountyOnlyAdmin):
    list_display = ["id", "kind", "recipient", "channel", "masked_address", "status", "attempts", "due_at",
                    "sent_at", "short_error"]  # fmt: skip
    list_filter = ["status", "channel", "kind"]
    search_fields = ["recipient__username", "subject"]
    list_select_related = ["recipient"]
    ordering = ["-due_at", "-id"]
    actions = ["retry_failed", "cancel_selected"]
    fields = ["kind", "recipient", "channel", "masked_address", "about_display", "subject", "body", "link",
              "status", "attempts", "due_at", "next_attempt_at", "sent_at", "read_at", "last_error", "created_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("address"))
    def masked_address(self, obj):
        return mask_address(obj.channel, obj.address)

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
class NotificationTemplateAdmin(CountyOnlyAdmin):
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


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(CountyOnlyAdmin):
    list_display = ["user", "email_enabled", "sms_enabled", "masked_mobile", "masked_email", "updated_at"]
    list_filter = ["email_enabled", "sms_enabled"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]

    @admin.display(description=_("mobile for SMS"))
    def masked_mobile(self, obj):
        return mask_mobile(obj.mobile)

    @admin.display(description=_("e-mail for notifications"))
    def masked_email(self, obj):
        return mask_email(obj.email) if obj.email else ""
