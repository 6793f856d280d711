"""The rules table (`clinics.settlements.rules.RULES`) drives every engine: a row that breaks one
rule, and only that one, gets that rule's message from the Python engine (SQLite) and from the
SQL engine (PostgreSQL, API rows and a CSV's lines the lane hands on), and the fast lane does not
take it. Adding a rule is its entry in the table plus its example here."""

import datetime
import json
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from clinics.models import Role
from clinics.settlements import fastlane, spec
from clinics.settlements.checks import time_zone_check
from clinics.settlements.ingest import IngestContext, PythonEngine, clean_values, fast_lane_request
from clinics.settlements.ingest.python_engine import _Row
from clinics.settlements.models import RejectedSettlementRow, SettlementRecord
from clinics.settlements.rules import RULES, Rule, messages, rule_constraints, steps
from clinics.settlements.services import raw_csv, settlements_import
from core.masking import mask_id_number, mask_id_number_sql
from tests.factories import FacilityFactory, make_user
from tests.settlements.helpers import csv_bytes, numbered, row

pytestmark = pytest.mark.django_db

# One row per rule that breaks it and no rule before it: {code: overrides of a valid row}; a
# callable gets the world (the clinics) first.
EXAMPLES = {
    "missing": {"psn_no": ""},
    "too_long": {"psn_name": "名" * 51},
    "code_unknown": {"med_type": "99999"},
    "time_format": {"setl_time": "2026-02-30 09:00:00"},
    "time_future": {"setl_time": "2099-01-01 09:00:00"},
    "date_format": {"brdy": "1985-02-30"},
    "number_format": {"age": "38.55"},
    "amount_negative": {"acct_pay": "-2.00"},
    "amount_format": {"acct_pay": "2.001"},
    "amount_too_high": {"medfee_sumamt": "900000.00", "fund_pay_sumamt": "900000.00", "hifp_pay": "900000.00",
                        "maf_pay": "0.00", "acct_pay": "0.00", "psn_cash_pay": "0.00"},
    "funds_rule": {"fund_pay_sumamt": "30.00", "psn_cash_pay": "18.00"},
    "total_rule": {"psn_cash_pay": "9.00"},
    # The relations warn until confirmed (SETTLEMENT_CONFIRMED_RELATIONS): tested confirmed.
    "total_parts": {"psn_part_amt": "11.00", "hosp_part_amt": "0.00"},
    "personal_share": {"psn_part_amt": "11.00"},
    "fund_items": {"cvlserv_pay": "1.00", "hifes_pay": "0.00", "hifmi_pay": "0.00", "hifob_pay": "0.00", "oth_pay": "0.00"},
    "mulaid_in_acct": {"acct_mulaid_pay": "3.00"},
    "unknown_clinic": {"fixmedins_code": "451028999999"},
    "clinic_disabled": lambda world: {"fixmedins_code": world["disabled"].code},
    "out_of_scope": lambda world: {"fixmedins_code": world["other"].code},
    "reverses_itself": lambda world: {"init_setl_id": row(world["own"], 1)["setl_id"]},
}
CODES = [rule.code for rule in RULES]


@pytest.fixture
def world(roles):
    own = FacilityFactory()
    return {
        "own": own,
        "other": FacilityFactory(),
        "disabled": FacilityFactory(settlement_enabled=False),
        # the out-of-scope rule needs an uploader bound to one clinic: an insurance terminal
        "terminal": make_user(Role.API_CLIENT, facility=own, username="terminal"),
    }


def breaking_row(world, code: str) -> dict:
    overrides = EXAMPLES[code]
    return row(world["own"], 1, **(overrides(world) if callable(overrides) else overrides))


def message_pattern(rule: Rule) -> re.Pattern:
    """The rule's message with each placeholder standing for any text."""
    text = messages()[rule.code]
    return re.compile("".join(".+" if part.startswith("%(") else re.escape(part)
                              for part in re.split(r"(%\(\w+\)s)", text)) + r"\Z", re.DOTALL)


def test_every_rule_has_an_example_and_a_unique_code():
    assert len(set(CODES)) == len(CODES)
    assert set(EXAMPLES) == set(CODES)


@pytest.mark.parametrize("code", CODES)
@override_settings(SETTLEMENT_CONFIRMED_RELATIONS=("total_parts", "personal_share", "fund_items", "mulaid_in_acct"))
def test_a_row_breaking_a_rule_gets_its_message_from_every_engine_and_never_takes_the_lane(world, code):
    rule = next(r for r in RULES if r.code == code)
    values = breaking_row(world, code)
    uploader = world["terminal"]

    # The Python engine's verdict, on either database.
    context = IngestContext(batch_id=1, own_facility=world["own"], now=timezone.now())
    python_reason = PythonEngine(context, messages()).check(_Row(2, clean_values(values)))
    assert message_pattern(rule).match(python_reason), (python_reason, rule.message)

    # The import (the Python engine on SQLite, the SQL engine on PostgreSQL) stores the same reason.
    batch = settlements_import(source="api", acting_user=uploader, rows=numbered([values]))
    assert (batch.accepted, batch.rejected) == (0, 1)
    assert RejectedSettlementRow.objects.get(batch=batch).reason == python_reason

    # The fast lane does not take the line (on PostgreSQL it goes to the SQL engine: the same reason).
    data = csv_bytes([values])
    out = []
    request = fast_lane_request(context, raw_csv(data), 2, 5)
    fastlane.classify(json.loads(json.dumps(request)), raw_csv(data).body, out.append)
    taken = [n for kind, *payload in out if kind == "chunk" for n in payload[0]["rows"]]
    if rule.lane.value == "check":
        # Left to the log's CHECK constraint: the parent finds the row when its chunk is refused.
        assert code in {"funds_rule", "total_rule"} and rule.constraint is not None
    else:
        assert taken == [], f"the lane took a row that breaks {code}"
    batch = settlements_import(source="upload", acting_user=uploader, data=data, filename="one.csv")
    assert (batch.accepted, batch.rejected) == (0, 1)
    assert RejectedSettlementRow.objects.get(batch=batch).reason == python_reason
    assert SettlementRecord.objects.count() == 0


def test_a_valid_row_breaks_no_rule_and_takes_the_lane(world):
    values = row(world["own"], 1)
    context = IngestContext(batch_id=1, own_facility=world["own"], now=timezone.now())
    assert PythonEngine(context, messages()).check(_Row(2, clean_values(values))) == ""
    batch = settlements_import(source="upload", acting_user=world["terminal"], data=csv_bytes([values]), filename="ok.csv")
    assert (batch.accepted, batch.rejected) == (1, 0)


def test_the_first_amount_in_error_is_named_whatever_rule_it_breaks(world):
    """negative and format are checked field by field (one group): hifp_pay comes before acct_pay."""
    values = row(world["own"], 1, hifp_pay="35.001", acct_pay="-2.00")
    batch = settlements_import(source="api", acting_user=world["terminal"], rows=numbered([values]))
    reason = RejectedSettlementRow.objects.get(batch=batch).reason
    assert "hifp_pay" in reason[: reason.index("“")], reason
    grouped = steps()[[r.code for r in RULES].index("amount_negative")]
    assert [(r.code, f) for r, f in grouped[:4]] == [
        ("amount_negative", "medfee_sumamt"), ("amount_format", "medfee_sumamt"),
        ("amount_negative", "fund_pay_sumamt"), ("amount_format", "fund_pay_sumamt"),
    ]


def test_the_rules_constraints_are_the_logs_constraints():
    """Every database invariant a rule names is one of the log's CHECK constraints."""
    names = {c.name for c in SettlementRecord._meta.constraints}
    assert set(rule_constraints()) <= names
    assert set(rule_constraints()) == {"settlement_amounts_not_negative", "settlement_funds_cover_hifp_maf",
                                       "settlement_total_adds_up"}


@pytest.mark.postgres
def test_the_database_has_exactly_the_checks_the_rules_table_writes():
    """Introspection: each CHECK the log really has (migration 0009 wrote it, frozen) is compared
    with the rule's expression, both written out by PostgreSQL itself (pg_get_constraintdef of a
    scratch table with the same columns), so spacing and parentheses cannot differ."""
    table = SettlementRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c'",
            [table],
        )
        actual = dict(cursor.fetchall())
        cursor.execute(f"CREATE TEMP TABLE rule_checks (LIKE {table} INCLUDING DEFAULTS)")
        for name, expression in rule_constraints().items():
            cursor.execute(f"ALTER TABLE rule_checks ADD CONSTRAINT {name} CHECK ({expression})")
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'rule_checks'::regclass "
            "AND contype = 'c'"
        )
        written = dict(cursor.fetchall())
        cursor.execute("DROP TABLE rule_checks")
    assert written == {name: actual.get(name) for name in written}


@pytest.mark.postgres
def test_masking_is_the_same_in_python_in_bytes_and_in_sql():
    values = ["", "1", "123456789", "1234567890", "451028198506150012", "45102819850615001X"]
    with connection.cursor() as cursor:
        for value in values:
            cursor.execute(f"SELECT {mask_id_number_sql('%(v)s::text')}", {"v": value})
            assert cursor.fetchone()[0] == mask_id_number(value) == mask_id_number(value.encode()).decode()


def test_masking_keeps_region_and_last_four():
    assert mask_id_number("451028198506150012") == "451028********0012"
    assert mask_id_number("123") == "***"
    assert mask_id_number("") == ""
    assert mask_id_number(b"451028198506150012") == b"451028********0012"


def test_the_time_zone_of_the_engines_is_the_sites():
    assert settings.TIME_ZONE == spec.TIME_ZONE
    assert time_zone_check() == []
    with override_settings(TIME_ZONE="UTC"):
        assert [e.id for e in time_zone_check()] == ["settlements.E001"]


def test_the_lanes_time_is_the_python_engines(world):
    """spec.UTC_OFFSET_SECONDS (the lane) against settings.TIME_ZONE (the Python engine)."""
    local = timezone.make_aware(datetime.datetime(2026, 10, 12, 9, 30), timezone.get_default_timezone())
    naive_utc = datetime.datetime(2026, 10, 12, 9, 30, tzinfo=datetime.UTC).timestamp()
    assert local.timestamp() == naive_utc - spec.UTC_OFFSET_SECONDS


def test_the_spec_and_the_lane_need_only_the_standard_library():
    code = (
        "import sys; import clinics.settlements.spec, clinics.settlements.fastlane; "
        "sys.exit(1 if [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')] else 0)"
    )
    assert subprocess.run([sys.executable, "-S", "-c", code], cwd=settings.BASE_DIR, check=False).returncode == 0
