from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinics.settlements import spec
from clinics.settlements.dictionaries import DICTIONARY_FIELDS
from clinics.settlements.models import SettlementRecord
from clinics.settlements.rules import ALL_AMOUNTS

# The log's columns as the API shows them: the 2207 setlinfo fields (certno masked, setl_time as
# settled_at), the clinic, the practitioner, the reversal's original.
RECORD_FIELDS = [
    "id", "setl_id", "mdtrt_id", "psn_no", "psn_name", "certno_masked",
    *[name for name in spec.FIELDS if name not in ("setl_id", "mdtrt_id", "psn_no", "psn_name", "certno", "setl_time",
                                                    "fixmedins_code", "atddr_no", "init_setl_id")],
    "settled_at", "fixmedins_code", "atddr_no", "init_setl_id", "is_reversal", "refd_setl_flag", "recorded_at",
]


class SettlementRecordSerializer(serializers.ModelSerializer):
    fixmedins_code = serializers.CharField(source="facility.code", read_only=True)
    is_reversal = serializers.BooleanField(read_only=True)
    refd_setl_flag = serializers.CharField(
        read_only=True, help_text=_("退费结算标志: 1 on a reversal (its amounts are stored positive and count negatively), 0 otherwise.")
    )

    class Meta:
        model = SettlementRecord
        fields = RECORD_FIELDS


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}], "example": "35.50"})
class TextOrNumberField(serializers.Field):
    """An amount or number as the platform sends it: a JSON number (35.5) or a string ("35.50").
    Only documented here: the ingest rules read the value and keep a bad row with its reason."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


def _help(name: str) -> str:
    label = next((label for field, label, _kind in spec.SETLINFO + spec.OWN_COLUMNS if field == name), "")
    kind = spec.KIND.get(name, "")
    extra = ""
    if name in DICTIONARY_FIELDS:
        extra = " " + str(_("Checked against the platform dictionary; an empty optional code is not checked."))
    return f"{label} ({kind}).{extra}"


def _upload_field(name: str):
    required = name in spec.REQUIRED
    if name in ALL_AMOUNTS or name in spec.RATIO_FIELDS or name in spec.AGE_FIELDS:
        return TextOrNumberField(required=required, help_text=_help(name))
    return serializers.CharField(required=required, allow_blank=not required, allow_null=not required,
                                 help_text=_help(name))


class SettlementUploadRowSerializer(serializers.Serializer):
    """One settlement as a terminal sends it: the platform's 2207 `setlinfo` object with its own
    field names (a 2208 reversal likewise, with `init_setl_id` naming the original; its amounts may
    be negative, as 2208 answers), plus `fixmedins_code` (the clinic's platform institution code or
    its register code), `atddr_no` and `init_setl_id`. Documentation of the POST body: the rows are
    checked by the ingest rules, which keep bad rows instead of failing the whole request."""

    def get_fields(self):
        fields = {name: _upload_field(name) for name in spec.FIELDS}
        fields["certno"].help_text = f"{fields['certno'].help_text} " + str(_("Masked before it is stored."))
        fields["setl_time"].help_text = str(_("Settlement time in Beijing time, like 2026-11-03 09:30:00"))
        fields["brdy"].help_text = f"{fields['brdy'].help_text} yyyy-MM-dd / yyyy-MM-dd 00:00:00"
        fields["init_setl_id"].help_text = str(_("Set on a reversal (冲正/退费): the setl_id of the settlement it cancels."))
        return fields


class RejectedRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    setl_id = serializers.CharField()
    reason = serializers.CharField()


class WarningRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    setl_id = serializers.CharField()
    code = serializers.CharField(help_text=_("The amount relation (rules.RELATIONS), e.g. total_parts."))
    warning = serializers.CharField()


class UploadReportSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    warned = serializers.IntegerField(help_text=_("Accepted rows that break an amount relation not yet confirmed."))
    rejected_rows = RejectedRowSerializer(many=True)
    warnings = WarningRowSerializer(many=True)


class ClinicSummarySerializer(serializers.Serializer):
    # Sums of the monthly rollup (models.SUM_MONEY, 22 digits) over a clinic's lines: DRF refuses to
    # write a value with more digits than max_digits (a 500), so room for them all.
    facility_id = serializers.IntegerField()
    fixmedins_code = serializers.CharField(source="facility__code")
    clinic = serializers.CharField(source="facility__name")
    visits = serializers.IntegerField()
    reversals = serializers.IntegerField()
    medfee_sumamt = serializers.DecimalField(max_digits=24, decimal_places=2)
    fund_pay_sumamt = serializers.DecimalField(max_digits=24, decimal_places=2)
    hifp_pay = serializers.DecimalField(max_digits=24, decimal_places=2)
    maf_pay = serializers.DecimalField(max_digits=24, decimal_places=2)
    acct_pay = serializers.DecimalField(max_digits=24, decimal_places=2)
    psn_cash_pay = serializers.DecimalField(max_digits=24, decimal_places=2)
