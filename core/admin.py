"""Admin pieces that know no domain: the audit trail on each object's history page, and deletes
made in admin written to it."""

from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from core.audit import audit_bulk, audit_record
from core.models import AuditEntry


class AuditHistoryMixin:
    """The object's "history" page lists its AuditEntry rows (who, when, what, why)."""

    # The page itself still lives with the register's admin templates (clinics/templates).
    history_template = "admin/clinics/audit_history.html"

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        entries = (
            AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(self.model), object_id=str(obj.pk))
            .select_related("actor")
            .order_by("-at", "-id")[:500]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Audit trail: %(object)s") % {"object": obj},
            "subtitle": None,
            "object": obj,
            "entries": entries,
            "opts": self.model._meta,
            "app_label": self.model._meta.app_label,
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.history_template, context)


class AuditedAdminMixin(AuditHistoryMixin):
    """The history page, and every delete made in admin (one object, or the changelist's "delete
    selected", a queryset delete) written to the audit trail row by row."""

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action="admin.delete", target=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        audit_bulk(actor=request.user, action="admin.delete", targets=queryset)
        super().delete_queryset(request, queryset)
