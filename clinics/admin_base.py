"""Admin building blocks every app uses: reach-scoped querysets and choices, and the audit trail
shown on each object's history page."""

from django.contrib import admin, messages
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from clinics.models import Facility
from clinics.scoping import is_county_wide, scope_choices, scope_facilities, scope_queryset, scoper_for
from clinics.selectors import township_list
from core.admin import AuditedAdminMixin


class ServiceRefusalMixin:
    """Saves go through services, which may refuse (out of reach, a locked month, a department
    that takes no consults): the refusal is shown on the page instead of a server error, and
    nothing is saved (the admin's transaction is rolled back)."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, "；".join(exc.messages), level=messages.ERROR)
            return redirect(request.get_full_path())


class CountyWritesMixin:
    """County reference data (bank file formats, the holiday calendar, tax rules): every role with
    the app's access reads it, only county-wide roles add, change or delete it."""

    def has_add_permission(self, request, *args):
        return is_county_wide(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return is_county_wide(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_county_wide(request.user) and super().has_delete_permission(request, obj)


class ReadOnlyMixin:
    """Rows written only by services (or results a rerun replaces): listed and viewed, never
    added, edited or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw id box that names the chosen row only when it is among the field's choices: a form sent
    back with an out-of-reach id must not show that row's name beside the box."""

    def __init__(self, rel, admin_site, *, queryset, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.choices_queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            if not self.choices_queryset.filter(**{key: value}).exists():
                return "", ""
        except (ValueError, TypeError, ValidationError):
            return "", ""
        return super().label_and_url_for_value(value)


class ScopedChoicesMixin:
    """Every related-row choice of a form (select, autocomplete, raw id, many-to-many) narrowed to
    the rows the user may point a write at: facilities and townships in reach, and every model an
    app registers with `clinics.scoping.register_scoper` (doctors by their posting in force,
    consultants, slots, users…). A posted id outside the narrowed choices fails the field's
    validation ("select a valid choice") exactly like an id that does not exist. For model admins
    and inlines alike."""

    def _scoped_choices(self, db_field, request, kwargs):
        queryset = kwargs.get("queryset")
        if queryset is None:
            db = kwargs.get("using")
            queryset = self.get_field_queryset(db, db_field, request)
            if queryset is None:
                queryset = db_field.remote_field.model._default_manager.using(db).all()
        return scope_choices(queryset, request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = self._scoped_choices(db_field, request, kwargs)
        raw_id = db_field.name in self.raw_id_fields and db_field.name not in self.get_autocomplete_fields(request)
        if "widget" not in kwargs and raw_id:
            kwargs["widget"] = ScopedRawIdWidget(
                db_field.remote_field, self.admin_site, queryset=kwargs["queryset"], using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["queryset"] = self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A changelist filter on a related field lists only the related rows in the user's reach (the
    stock filter lists every township and clinic of the county)."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        queryset = scope_choices(field.related_model._default_manager.all(), request.user)
        if ordering:
            queryset = queryset.order_by(*ordering)
        limit = field.get_limit_choices_to() if hasattr(field, "get_limit_choices_to") else None
        if limit:
            queryset = queryset.complex_filter(limit)
        remote = field.remote_field
        attname = remote.get_related_field().attname if hasattr(remote, "get_related_field") else "pk"
        return [(getattr(row, attname), str(row)) for row in queryset]


# Before the stock related-field filter, for every admin (registered once, when the admins load).
admin.FieldListFilter.register(lambda f: f.remote_field, ScopedRelatedFieldListFilter, take_priority=True)


# Fields whose values a page shows masked or not at all. Django's changelist takes a lookup on any
# local field from the URL (?bank_account=…, ?id_number__startswith=…), and the result count then
# confirms a guessed value digit by digit: such lookups are refused (400) on every scoped admin,
# through any relation (?doctor__bank_account=…).
SECRET_LOOKUP_FIELDS = frozenset({
    "id_number", "id_number_hash", "bank_account", "patient_id_number", "patient_key", "certno",
    "certno_masked", "password", "token", "room_token", "claim_token", "key", "dedupe_key",
})


class ScopedAdmin(ScopedChoicesMixin, AuditedAdminMixin, admin.ModelAdmin):
    """A changelist and forms limited to the user's reach.

    `facility_path` is the lookup from the model to its Facility ("facility", "posting__facility"…);
    None for a Facility model itself; set `county_only = True` for models only county-wide roles
    may see at all. A model with a registered scoper (Doctor: reach through the posting in force)
    is narrowed by it, so its changelist, its autocomplete answers and the choices that point at it
    agree."""

    facility_path: str | None = "facility"
    county_only = False
    list_per_page = 50

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.county_only:
            return queryset if is_county_wide(request.user) else queryset.none()
        if self.model is Facility:
            return scope_facilities(queryset, request.user)
        scoper = scoper_for(self.model)
        if scoper is not None:
            return scoper(queryset, request.user)
        if self.facility_path is None:
            return queryset
        return scope_queryset(queryset, request.user, facility_path=self.facility_path)

    def lookup_allowed(self, lookup, value, request=None):
        if SECRET_LOOKUP_FIELDS.intersection(lookup.split("__")):
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request, *args):
        # Rows only county-wide roles may see are not theirs to add either (a role, a pay input),
        # whatever permissions a group was given.
        if self.county_only and not is_county_wide(request.user):
            return False
        return super().has_add_permission(request, *args)



class ReadOnlyAdmin(ReadOnlyMixin, ScopedAdmin):
    """A scoped changelist of rows nobody edits here."""


class TownshipFilter(admin.SimpleListFilter):
    """Townships in the user's reach, from the township table (the stock related filter finds them
    with a DISTINCT over the list's own rows): the way to a clinic once the reach holds too many to list."""

    title = _("township")
    parameter_name = "township"
    facility_field = "facility_id"

    def lookups(self, request, model_admin):
        return [(str(t.pk), t.name) for t in township_list(user=request.user)]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(**{f"{self.facility_field.removesuffix('_id')}__township_id": int(self.value())})
        return queryset
