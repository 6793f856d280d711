import django_filters
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clinics.models import Facility
from staffing.models import Doctor
from staffing.reach import posted_q


class ClinicFilter(django_filters.FilterSet):
    township = django_filters.CharFilter(field_name="township__code", label=_("township code"))
    kind = django_filters.ChoiceFilter(choices=Facility.Kind.choices, label=_("kind"))
    understaffed = django_filters.BooleanFilter(method="filter_understaffed", label=_("understaffed"))
    telemedicine = django_filters.BooleanFilter(field_name="telemedicine_enabled", label=_("telemedicine link"))

    class Meta:
        model = Facility
        fields = ["township", "kind", "understaffed", "telemedicine", "is_active"]

    def filter_understaffed(self, queryset, name, value):
        condition = {"active_doctors__lt": F("target_doctors")}
        return queryset.filter(**condition) if value else queryset.exclude(**condition)


class DoctorFilter(django_filters.FilterSet):
    township = django_filters.CharFilter(method="filter_township", label=_("township code"))
    clinic = django_filters.CharFilter(method="filter_clinic", label=_("clinic code"))
    status = django_filters.ChoiceFilter(choices=Doctor.Status.choices, label=_("employment status"))
    understaffed = django_filters.BooleanFilter(method="filter_understaffed", label=_("at an understaffed clinic"))

    class Meta:
        model = Doctor
        fields = ["township", "clinic", "status", "qualification", "understaffed"]

    # A doctor belongs to the township and clinic of the posting in force today (or, for a new
    # hire, the upcoming one): the same rule as reach, so a filter never lists a doctor who moved.
    def filter_township(self, queryset, name, value):
        return queryset.filter(posted_q(Q(facility__township__code=value)))

    def filter_clinic(self, queryset, name, value):
        return queryset.filter(posted_q(Q(facility__code=value)))

    def filter_understaffed(self, queryset, name, value):
        from staffing.selectors import clinic_coverage_list

        user = self.request.user
        short = clinic_coverage_list(user=user).filter(active_doctors__lt=F("target_doctors")).values("pk")
        matching = queryset.filter(current_facility_id__in=short)
        return matching if value else queryset.exclude(pk__in=matching.values("pk"))
