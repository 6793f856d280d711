"""API fuzzing: schemathesis generates requests for every operation of /api/schema/ and checks
that none answers 5xx and that every status code the API answers is documented in the schema.

Runs as the county admin (token header) in a world of two townships, bounded and derandomised so CI
is deterministic and fast."""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.api_client_helpers import api_token_for

pytestmark = pytest.mark.django_db(transaction=False)

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance]


def describe(exc) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text[:600]}"


def fuzz(operation, headers, *, examples: int) -> tuple[int, list[str]]:
    calls, failures = [0], []

    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failing example
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case):
        calls[0] += 1
        try:
            with transaction.atomic():  # a failed request must not poison the next ones' transaction
                case.call_and_validate(headers=headers, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # one line per failing example; the run goes on
            failures.append(f"{operation.label}: {describe(exc)}")

    run()
    return calls[0], failures


@pytest.fixture
def keep_connection():
    """The WSGI application closes the database connection at the end of each request, which would
    end the test's transaction on PostgreSQL; Django's test client disconnects this too."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_api_answers_no_5xx_and_only_documented_status_codes(world, keep_connection, capsys):
    from config.wsgi import application

    _a, _b, users, _ = world
    token = api_token_for(users["county_admin"])
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    headers = {"Authorization": f"Bearer {token}"}

    operations, examples, failures = 0, 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        calls, found = fuzz(operation, headers, examples=EXAMPLES_PER_OPERATION)
        operations += 1
        examples += calls
        failures.extend(found)

    with capsys.disabled():
        print(f"\nschemathesis: {operations} operations, {examples} examples, {len(failures)} failures")
    assert operations >= 20
    assert not failures, "\n".join(failures[:8])


def test_marking_an_impossible_message_id_read_is_a_400_not_a_500(world):
    """Found by schemathesis: an id beyond 64 bits crashed the database driver (OverflowError)."""
    from tests.conftest import api_as

    _a, _b, users, _ = world
    response = api_as(users["village_doctor"]).post("/api/v1/notifications/mark-read/", {"ids": [2**70]}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and any(k.split(".")[0] == "ids" for k in response.json()["fields"])


def test_a_settlement_upload_with_nul_or_surrogate_characters_is_not_a_500(world):
    """Found by schemathesis on PostgreSQL: a NUL byte in an uploaded value failed the whole
    upload with a DataError (500)."""
    from tests.conftest import api_as
    from tests.settlements.helpers import row

    a, _b, users, _ = world
    rows = [row(a.clinic, 81, psn_name="韦\x00小兰"), row(a.clinic, 82, psn_name="\ud800坏"), {"\x00": "\udabf"}]
    body = json.dumps(rows)  # ASCII escapes, as a terminal may send them
    response = api_as(users["insurance_clerk"]).post("/api/v1/settlements/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["accepted"] == 2 and response.json()["rejected"] == 1


def test_a_csv_upload_with_a_nul_byte_is_judged_row_by_row(world):
    """Found while fuzzing on PostgreSQL: a NUL byte in an uploaded CSV failed the whole upload."""
    from clinics.settlements.services import settlements_import
    from tests.settlements.helpers import csv_bytes, row

    a, _b, users, _ = world
    data = csv_bytes([row(a.clinic, 61), row(a.clinic, 62, psn_name="韦\x00兰")])
    batch = settlements_import(source="upload", acting_user=users["insurance_clerk"], data=data, filename="s.csv")
    assert (batch.accepted, batch.rejected) == (2, 0)
