from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from clinics.settlements.models import SettlementRecord
from clinics.settlements.rules import CLR_TYPES, INSUTYPES


class SettlementRecordSerializer(serializers.ModelSerializer):
    fixmedins_code = serializers.CharField(source="facility.code", read_only=True)
    is_reversal = serializers.BooleanField(read_only=True)

    class Meta:
        model = SettlementRecord
        fields = [
            "id", "setl_id", "mdtrt_id", "psn_no", "psn_name", "certno_masked", "insutype", "clr_type",
            "medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "maf_pay", "acct_pay", "psn_cash_pay", "settled_at",
            "fixmedins_code", "atddr_no", "init_setl_id", "is_reversal", "recorded_at",
        ]


class SettlementUploadRowSerializer(serializers.Serializer):
    """One settlement as a terminal sends it (documentation of the POST body; the rows are
    checked by the ingest rules, which keep bad rows instead of failing the whole request)."""

    setl_id = serializers.CharField()
    mdtrt_id = serializers.CharField()
    psn_no = serializers.CharField()
    psn_name = serializers.CharField()
    certno = serializers.CharField(required=False, help_text=_("ID number; masked before it is stored"))
    insutype = serializers.ChoiceField(choices=INSUTYPES)
    clr_type = serializers.ChoiceField(choices=CLR_TYPES)
    medfee_sumamt = serializers.DecimalField(max_digits=12, decimal_places=2)
    fund_pay_sumamt = serializers.DecimalField(max_digits=12, decimal_places=2)
    hifp_pay = serializers.DecimalField(max_digits=12, decimal_places=2)
    maf_pay = serializers.DecimalField(max_digits=12, decimal_places=2)
    acct_pay = serializers.DecimalField(max_digits=12, decimal_places=2)
    psn_cash_pay = serializers.DecimalField(max_digits=12, decimal_places=2)
    setl_time = serializers.CharField(help_text=_("Settlement time in Beijing time, like 2026-11-03 09:30:00"))
    fixmedins_code = serializers.CharField()
    atddr_no = serializers.CharField(required=False)
    init_setl_id = serializers.CharField(
        required=False, help_text=_("Set on a reversal (冲正/退费): the setl_id of the settlement it cancels.")
    )


class RejectedRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    setl_id = serializers.CharField()
    reason = serializers.CharField()


class UploadReportSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    rejected_rows = RejectedRowSerializer(many=True)


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


