from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from clinics.models import Facility
from staffing.models import Doctor


class ClinicSerializer(serializers.ModelSerializer):
    township = serializers.CharField(source="township.name", default=None, read_only=True)
    township_code = serializers.CharField(source="township.code", default=None, read_only=True)
    active_doctors = serializers.IntegerField(read_only=True, help_text=_("Active doctors posted here today."))
    understaffed = serializers.SerializerMethodField()
    opening_hours = serializers.CharField(source="opening_hours_display", read_only=True)

    class Meta:
        model = Facility
        fields = [
            "id", "code", "platform_code", "name", "kind", "township", "township_code", "village", "village_kind",
            "telemedicine_enabled", "settlement_enabled", "is_active", "opening_hours",
            "target_doctors", "active_doctors", "understaffed", "is_demo",
        ]

    def get_understaffed(self, obj) -> bool:
        return obj.active_doctors < obj.target_doctors


class DoctorSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(source="id_number_masked", read_only=True)
    bank_account = serializers.CharField(source="bank_account_masked", read_only=True)
    current_facility = serializers.IntegerField(source="current_facility_id", read_only=True, allow_null=True)

    class Meta:
        model = Doctor
        fields = [
            "id", "name", "sex", "birth_date", "id_number", "mobile", "qualification", "licence_number",
            "licence_expiry", "insurance_code", "status", "hire_date", "exit_date", "current_facility", "bank_name",
            "bank_account", "is_demo",
        ]
