from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from clinics.api_fields import ReachCodeField, ReachIdField
from clinics.models import Facility, Township
from staffing.models import Doctor
from staffing.rosters.models import CoverageGap, DutyDay, LeaveRequest, SwapRequest


class DoctorRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DutyDaySerializer(serializers.ModelSerializer):
    doctor = DoctorRefSerializer(read_only=True)
    holiday = serializers.SerializerMethodField(help_text=_("The public holiday's name, or null."))
    status = serializers.CharField(source="roster.status", read_only=True)

    class Meta:
        model = DutyDay
        fields = ["date", "doctor", "duty", "holiday", "status", "day_kind", "source"]

    def get_holiday(self, obj) -> str | None:
        entry = self.context.get("holidays", {}).get(obj.date)
        return entry.name if entry is not None and entry.is_holiday else None


class LeaveRequestSerializer(serializers.ModelSerializer):
    doctor = DoctorRefSerializer(read_only=True)
    doctor_id = ReachIdField(model=Doctor, write_only=True, required=False, help_text=_("Admins only: whose leave."))
    clinic = serializers.CharField(source="facility.code", read_only=True)
    entered_by_admin = serializers.BooleanField(read_only=True, help_text=_("Recorded by an admin on the doctor's behalf."))
    approve = serializers.BooleanField(write_only=True, required=False, default=False,
                                       help_text=_("Admins only: approve at once (a doctor phoning in sick)."))
    note = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=200, default="")
    exceed_balance = serializers.BooleanField(write_only=True, required=False, default=False,
                                              help_text=_("Approve even beyond the yearly entitlement."))

    class Meta:
        model = LeaveRequest
        fields = [
            "id", "doctor", "doctor_id", "clinic", "kind", "start_date", "end_date", "reason", "status",
            "requested_at", "decided_at", "decision_note", "entered_by_admin", "approve", "note", "exceed_balance",
        ]
        read_only_fields = ["status", "requested_at", "decided_at", "decision_note"]


class SwapRequestSerializer(serializers.ModelSerializer):
    requester = DoctorRefSerializer(read_only=True)
    counterpart = DoctorRefSerializer(read_only=True)
    requester_id = ReachIdField(model=Doctor, write_only=True, required=False, help_text=_("Admins only."))
    counterpart_id = ReachIdField(model=Doctor, write_only=True)
    clinic = serializers.CharField(source="facility.code", read_only=True)

    class Meta:
        model = SwapRequest
        fields = [
            "id", "clinic", "requester", "requester_id", "counterpart", "counterpart_id", "give_date", "take_date",
            "reason", "status", "requested_at", "decided_at", "decision_note",
        ]
        read_only_fields = ["status", "requested_at", "decided_at", "decision_note"]


class DecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)
    exceed_balance = serializers.BooleanField(required=False, default=False,
                                              help_text=_("Leave only: approve even beyond the yearly entitlement."))


class SwapAnswerSerializer(serializers.Serializer):
    agree = serializers.BooleanField(help_text=_("The colleague's answer: true agrees, false declines."))


class CandidateSerializer(serializers.Serializer):
    doctor = DoctorRefSerializer()
    clinic = serializers.CharField(source="facility.code")
    clinic_name = serializers.CharField(source="facility.name")
    oncall_this_year = serializers.IntegerField()


class GapSerializer(serializers.ModelSerializer):
    clinic = serializers.CharField(source="facility.code", read_only=True)
    clinic_name = serializers.CharField(source="facility.name", read_only=True)
    cover_doctor = serializers.SerializerMethodField()
    candidates = serializers.SerializerMethodField()

    class Meta:
        model = CoverageGap
        fields = ["id", "clinic", "clinic_name", "date", "day_kind", "status", "cover_doctor", "candidates"]

    def get_cover_doctor(self, obj) -> dict | None:
        return {"id": obj.cover.doctor_id, "name": obj.cover.doctor.name} if obj.cover_id else None

    def get_candidates(self, obj) -> list[dict]:
        if obj.status != CoverageGap.Status.OPEN:
            return []
        return CandidateSerializer(self.context.get("candidates", {}).get(obj.pk, []), many=True).data


class CoverSerializer(serializers.Serializer):
    doctor_id = ReachIdField(model=Doctor)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class LeaveGapPreviewSerializer(serializers.Serializer):
    date = serializers.DateField(source="duty.date")
    clinic = serializers.CharField(source="duty.roster.facility.code")
    day_kind = serializers.CharField(source="duty.day_kind")


class MonthActionSerializer(serializers.Serializer):
    month = serializers.RegexField(r"^\d{4}-\d{2}$", error_messages={"invalid": _("Give the month as YYYY-MM, e.g. 2026-12.")})
    township = ReachCodeField(
        model=Township, required=False, allow_blank=True, help_text=_("township code; empty for the whole county")
    )
    clinic = ReachCodeField(model=Facility, required=False, allow_blank=True, help_text=_("clinic code (generate only)"))


class GenerateResultSerializer(serializers.Serializer):
    month = serializers.CharField()
    clinics = serializers.IntegerField()
    created = serializers.IntegerField()
    replaced = serializers.IntegerField()
    kept_published = serializers.IntegerField()
    duties = serializers.IntegerField()
    gaps = serializers.IntegerField()


class PublishResultSerializer(serializers.Serializer):
    month = serializers.CharField()
    published = serializers.IntegerField()


class SummaryDoctorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    day_duties = serializers.IntegerField()
    weekend_oncall = serializers.IntegerField()
    holiday_oncall = serializers.IntegerField()
    leave_days = serializers.IntegerField()


class SummaryClinicSerializer(serializers.Serializer):
    clinic = serializers.CharField()
    clinic_name = serializers.CharField()
    status = serializers.CharField(allow_null=True)
    open_gaps = serializers.IntegerField()
    covered_gaps = serializers.IntegerField()
    doctors = SummaryDoctorSerializer(many=True)
