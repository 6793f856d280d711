"""Admin building blocks every app uses: reach-scoped querysets and choices, and the audit trail
shown on each object's history page."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from clinics.audit import audit_bulk, audit_record
from clinics.models import AuditEntry, Facility, Township
from clinics.scoping import is_county_wide, scope_facilities, scope_queryset, user_role


class AuditHistoryMixin:
    """The object's "history" page lists its AuditEntry rows (who, when, what, why)."""

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        entries = (
            AuditEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(self.model), object_id=str(obj.pk)
            )
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
        return TemplateResponse(request, "admin/clinics/audit_history.html", context)


class ReadOnlyMixin:
    """Rows written only by services (or results a rerun replaces): listed and viewed, never
    added, edited or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScopedAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """A changelist and forms limited to the user's reach.

    `facility_path` is the lookup from the model to its Facility ("facility", "posting__facility"…);
    None for a Facility model itself; set `county_only = True` for models only county-wide roles
    may see at all."""

    facility_path: str | None = "facility"
    county_only = False
    list_per_page = 50

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.county_only:
            return queryset if is_county_wide(request.user) else queryset.none()
        if self.model is Facility:
            return scope_facilities(queryset, request.user)
        if self.facility_path is None:
            return queryset
        return scope_queryset(queryset, request.user, facility_path=self.facility_path)

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action="admin.delete", target=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        """The changelist's "delete selected" is a queryset delete: audit every row it removes."""
        audit_bulk(actor=request.user, action="admin.delete", targets=queryset)
        super().delete_queryset(request, queryset)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Facility:
            kwargs["queryset"] = scope_facilities(Facility.objects.all(), request.user)
        elif db_field.related_model is Township and not is_county_wide(request.user):
            role = user_role(request.user)
            scope = getattr(request.user, "scope", None)
            kwargs["queryset"] = Township.objects.filter(pk=getattr(scope, "township_id", None)) if role else Township.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdmin(ReadOnlyMixin, ScopedAdmin):
    """A scoped changelist of rows nobody edits here."""
