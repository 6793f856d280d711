from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from notifications import registry
from notifications.models import Notification


class InboxNotificationSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "kind_display", "subject", "body", "link", "sent_at", "read_at", "is_read"]
        read_only_fields = fields


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        allow_empty=False,
        max_length=500,
        help_text=_("Messages to mark read; leave out to mark every message read."),
    )


class PreferenceSerializer(serializers.Serializer):
    """`<code>_enabled` for every registered channel a user may switch, then the typed addresses."""

    mobile = serializers.CharField(max_length=11, allow_blank=True, required=False, help_text=_("Empty: the register's."))
    email = serializers.EmailField(allow_blank=True, required=False, help_text=_("Empty: the account's e-mail."))

    def get_fields(self):
        addresses = super().get_fields()
        switches = {
            f"{spec.code}_enabled": serializers.BooleanField(required=False, help_text=str(spec.label))
            for spec in registry.switchable_channels()
        }
        return {**switches, **addresses}
