"""Filters of the settlement list (`GET /api/v1/settlements/`): one settlement by `setl_id` (a
terminal checking its upload landed), a month of settlements, a clinic, an insurance type. Each
narrows the user's reach (the selector's queryset); a badly written value is a 400."""

import datetime

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.settlements.models import InsuranceType, SettlementRecord
from core.months import next_month, parse_month


def _month_text(value):
    parse_month(value, field=None)  # a ValidationError saying how to write a month


class SettlementFilter(django_filters.FilterSet):
    setl_id = django_filters.CharFilter(field_name="setl_id", label=_("settlement id (setl_id)"))
    month = django_filters.CharFilter(
        method="filter_month", validators=[_month_text], label=_("month of settlement, YYYY-MM (Beijing time)")
    )
    clinic = django_filters.CharFilter(field_name="facility__code", label=_("clinic code (fixmedins_code)"))
    insutype = django_filters.ChoiceFilter(choices=InsuranceType.choices, label=_("insurance type"))

    class Meta:
        model = SettlementRecord
        fields = ["setl_id", "month", "clinic", "insutype"]

    def filter_month(self, queryset, name, value):
        month = parse_month(value, field=None)
        start = timezone.make_aware(datetime.datetime.combine(month, datetime.time.min))
        end = timezone.make_aware(datetime.datetime.combine(next_month(month), datetime.time.min))
        return queryset.filter(settled_at__gte=start, settled_at__lt=end)
