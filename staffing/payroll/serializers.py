from rest_framework import serializers

from core.api import MonthField
from staffing.payroll.models import Payslip, PayslipLine


class PayslipLineSerializer(serializers.ModelSerializer):
    component_display = serializers.CharField(source="get_component_display", read_only=True)
    reference_month = MonthField(read_only=True)

    class Meta:
        model = PayslipLine
        fields = ["component", "component_display", "kind", "description", "quantity", "rate", "amount", "reference_month",
                  "policy", "funding_source", "source"]


class PayslipSerializer(serializers.ModelSerializer):
    doctor = serializers.IntegerField(source="doctor_id", read_only=True)
    doctor_name = serializers.CharField(source="doctor.__str__", read_only=True)
    month = MonthField(read_only=True)
    clinic = serializers.CharField(source="facility.name", read_only=True)
    status = serializers.CharField(source="run.status", read_only=True)
    lines = PayslipLineSerializer(many=True, read_only=True)

    class Meta:
        model = Payslip
        fields = ["id", "doctor", "doctor_name", "month", "clinic", "status", "payable_days", "days_in_month", "gross", "deductions",
                  "net", "social_insurance", "income_tax", "lines"]
