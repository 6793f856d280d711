"""On PostgreSQL the amount rules are exact (numeric holds two-decimal amounts exactly), so the
log's CHECKs drop the half-cent tolerance SQLite needs, and "not negative" checks only the four
parts (with the two rules they imply the totals are not negative either): nine numeric operations
a row instead of seventeen, on every row every import writes. `recorded_at` defaults to the
transaction's time, so a bulk load need not send it. The model keeps the portable definitions;
SQLite keeps them too."""

from django.db import migrations

from core.db import PostgresOnlySQL

LOG = "settlements_settlementrecord"

EXACT = f"""
ALTER TABLE {LOG} DROP CONSTRAINT settlement_amounts_not_negative,
    DROP CONSTRAINT settlement_funds_cover_hifp_maf,
    DROP CONSTRAINT settlement_total_adds_up;
ALTER TABLE {LOG}
    ADD CONSTRAINT settlement_amounts_not_negative
        CHECK (hifp_pay >= 0 AND maf_pay >= 0 AND acct_pay >= 0 AND psn_cash_pay >= 0),
    ADD CONSTRAINT settlement_funds_cover_hifp_maf CHECK (fund_pay_sumamt >= hifp_pay + maf_pay),
    ADD CONSTRAINT settlement_total_adds_up CHECK (medfee_sumamt = fund_pay_sumamt + acct_pay + psn_cash_pay);
ALTER TABLE {LOG} ALTER COLUMN recorded_at SET DEFAULT now();
"""

TOLERANT = f"""
ALTER TABLE {LOG} ALTER COLUMN recorded_at DROP DEFAULT;
ALTER TABLE {LOG} DROP CONSTRAINT settlement_amounts_not_negative,
    DROP CONSTRAINT settlement_funds_cover_hifp_maf,
    DROP CONSTRAINT settlement_total_adds_up;
ALTER TABLE {LOG}
    ADD CONSTRAINT settlement_amounts_not_negative CHECK (medfee_sumamt >= 0 AND fund_pay_sumamt >= 0
        AND hifp_pay >= 0 AND maf_pay >= 0 AND acct_pay >= 0 AND psn_cash_pay >= 0),
    ADD CONSTRAINT settlement_funds_cover_hifp_maf CHECK (fund_pay_sumamt >= hifp_pay + maf_pay - 0.005),
    ADD CONSTRAINT settlement_total_adds_up CHECK (medfee_sumamt >= fund_pay_sumamt + acct_pay + psn_cash_pay - 0.005
        AND medfee_sumamt <= fund_pay_sumamt + acct_pay + psn_cash_pay + 0.005);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0008_key_places_record"),
    ]

    operations = [PostgresOnlySQL(EXACT, TOLERANT)]
