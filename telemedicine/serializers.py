import copy

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinics.api_fields import ReachIdField, ReachRelatedField
from clinics.models import Department
from core import schema as core_schema
from telemedicine import conf
from telemedicine.models import BookingEvent, ConsultBooking, ConsultOutcome, Slot
from telemedicine.selectors import referral_departments, room_access

# Why these ids are not narrowed to the caller's reach (read by the write-matrix test, not shown).
SLOTS_COUNTY_WIDE = (
    "a doctor of any township books the county hospital's and the township centres' slots; the service checks "
    "the slot is open"
)


class DepartmentSerializer(serializers.ModelSerializer):
    facility = serializers.CharField(source="facility.name", read_only=True)
    facility_kind = serializers.CharField(source="facility.kind", read_only=True)
    consultant_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Department
        fields = ["id", "code", "name", "facility", "facility_kind", "consultant_count"]


class SlotSerializer(serializers.ModelSerializer):
    consultant = serializers.CharField(source="consultant.name", read_only=True)
    consultant_title = serializers.CharField(source="consultant.title", read_only=True)
    department = serializers.CharField(source="department.name", read_only=True)
    facility = serializers.CharField(source="department.facility.name", read_only=True)
    free_places = serializers.IntegerField(read_only=True)

    class Meta:
        model = Slot
        fields = ["id", "starts_at", "ends_at", "consultant", "consultant_title", "department", "facility", "places", "free_places"]


class SlotQuerySerializer(serializers.Serializer):
    department = serializers.IntegerField(min_value=1, help_text=_("Department id from /teleconsult/departments/."))
    date = serializers.DateField(help_text=_("Local date, YYYY-MM-DD."))

    def validate_date(self, value):
        if not conf.plausible_day(value):
            raise serializers.ValidationError(_("Choose a date between 2000 and 2100."))
        return value


class OutcomeSerializer(serializers.ModelSerializer):
    referral_department = serializers.CharField(source="referral_department.name", default=None, read_only=True, allow_null=True)

    class Meta:
        model = ConsultOutcome
        fields = ["findings", "advice", "medication_advice", "referral", "referral_department", "follow_up_date", "recorded_at"]


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)

    class Meta:
        model = BookingEvent
        fields = ["at", "kind", "from_status", "to_status", "from_slot", "to_slot", "actor", "note"]


class FieldsBuiltOnce:
    """A ModelSerializer whose fields are worked out from the model once per class instead of on
    every instance (DRF maps each model field anew each time: about a third of a booking's answer
    in Python). Each instance binds its own shallow copies, so a field's parent, and with it the
    context (the request), stays that instance's; a nested serializer is copied whole."""

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            cls._fields_built = built  # two threads may both build it first: either result is the same
        return {
            name: copy.deepcopy(field) if isinstance(field, serializers.BaseSerializer) else copy.copy(field)
            for name, field in built.items()
        }


class BookingSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    consultant = serializers.CharField(source="consultant.name", read_only=True)
    department = serializers.CharField(source="department.name", read_only=True)
    consulting_facility = serializers.CharField(source="department.facility.name", read_only=True)
    clinic = serializers.CharField(source="facility.name", read_only=True)
    doctor = serializers.CharField(source="doctor.name", read_only=True)
    patient_id_number = serializers.CharField(source="patient_id_masked", read_only=True)
    outcome = serializers.SerializerMethodField()
    video = serializers.SerializerMethodField()

    class Meta:
        model = ConsultBooking
        fields = [
            "id", "status", "slot", "starts_at", "ends_at", "consultant", "department", "consulting_facility",
            "clinic", "doctor", "patient_name", "patient_sex", "patient_birth_date", "patient_age",
            "patient_id_number", "poverty_household", "chief_complaint", "urgency", "mode", "requested_at",
            "confirmed_at", "started_at", "finished_at", "decline_reason", "cancelled_at", "cancelled_by_side",
            "cancel_reason", "reschedule_count", "outcome", "video",
        ]

    @extend_schema_field(OutcomeSerializer(allow_null=True))
    def get_outcome(self, obj):
        outcome = getattr(obj, "outcome", None) if hasattr(obj, "outcome") else None
        return OutcomeSerializer(outcome).data if outcome else None

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "state": {"type": "string", "enum": ["open", "early", "closed", "not_video", "inactive", "unconfigured"]},
                "opens_at": {"type": "string", "format": "date-time"},
                "closes_at": {"type": "string", "format": "date-time"},
                "url": {"type": "string"},
            },
        }
    )
    def get_video(self, obj):
        request = self.context.get("request")
        access = room_access(obj, user=getattr(request, "user", None))  # the link only for the two parties
        return {"state": access.state, "opens_at": access.opens_at, "closes_at": access.closes_at, "url": access.url}


class BookingDetailSerializer(BookingSerializer):
    events = EventSerializer(many=True, read_only=True)

    class Meta(BookingSerializer.Meta):
        fields = [*BookingSerializer.Meta.fields, "events"]


class BookingCreateSerializer(serializers.Serializer):
    slot = ReachIdField(model=Slot, scoped=False, reason=SLOTS_COUNTY_WIDE)
    patient_name = serializers.CharField(
        max_length=50, error_messages={"blank": _("Enter the patient's name."), "required": _("Enter the patient's name.")}
    )
    patient_sex = serializers.ChoiceField(choices=ConsultBooking.Sex.choices)
    patient_birth_date = serializers.DateField(required=False, allow_null=True)
    patient_age = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=130)
    patient_id_number = serializers.CharField(required=False, allow_blank=True, max_length=18)
    poverty_household = serializers.BooleanField(required=False, default=False)
    chief_complaint = serializers.CharField(
        max_length=1000,
        error_messages={
            "blank": _("Describe the chief complaint so the consultant can prepare."),
            "required": _("Describe the chief complaint so the consultant can prepare."),
        },
    )
    urgency = serializers.ChoiceField(choices=ConsultBooking.Urgency.choices, default=ConsultBooking.Urgency.ROUTINE)
    mode = serializers.ChoiceField(choices=ConsultBooking.Mode.choices, default=ConsultBooking.Mode.VIDEO)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=300, error_messages={"blank": _("Give a reason."), "required": _("Give a reason.")}
    )


class RescheduleSerializer(serializers.Serializer):
    slot = ReachIdField(model=Slot, scoped=False, reason=SLOTS_COUNTY_WIDE)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CompleteSerializer(serializers.Serializer):
    findings = serializers.CharField(max_length=4000)
    advice = serializers.CharField(max_length=4000)
    medication_advice = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    referral = serializers.BooleanField(required=False, default=False)
    referral_department = ReachRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True, default=None, scoped=False,
        reason="referrals go to the county hospital's departments, whichever township the consult came from",
    )
    follow_up_date = serializers.DateField(required=False, allow_null=True, default=None)

    def get_fields(self):
        fields = super().get_fields()
        fields["referral_department"].queryset = referral_departments()
        return fields


# The API's one error shape (core.schema); teleconsult's 409 adds its codes and `state`.
ErrorSerializer = core_schema.ErrorSerializer


# The codes of a teleconsult 409 (BookingConflict's, and core.retry's Busy).
CONFLICT_CODES = ["slot_full", "slot_withdrawn", "consultant_on_leave", "patient_overlap", "invalid_transition", "busy", "idempotency_in_progress"]


class ConflictSerializer(ErrorSerializer):
    """A 409: the request collides with the current state (`core.errors.Conflict`)."""

    code = serializers.ChoiceField(
        choices=CONFLICT_CODES,
        help_text=_("Why: the slot is full or withdrawn, the consultant is on leave, the patient is booked at an "
                    "overlapping time, the consult's state does not allow the step, or the database stayed busy."),
    )
    state = serializers.CharField(
        required=False, help_text=_("For invalid_transition: the consult's status now.")
    )
    booking = serializers.IntegerField(
        required=False,
        help_text=_("For patient_overlap, when the existing consult is yours to read (a booking sent again after a "
                    "timeout): its id."),
    )
    booking_url = serializers.CharField(required=False, help_text=_("For patient_overlap: the existing consult's address in the API."))
