"""API fuzzing: schemathesis generates requests for every operation of /api/schema/ and checks
that none answers 5xx and that every status code the API answers is documented in the schema.

Runs as the county admin (token header) in a world of two townships, bounded and derandomised so CI
is deterministic and fast."""

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

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


def test_the_api_answers_no_5xx_and_only_documented_status_codes(world, capsys):
    from config.wsgi import application

    _a, _b, users, _ = world
    token = Token.objects.create(user=users["county_admin"])
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    headers = {"Authorization": f"Token {token.key}"}

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
    assert "ids" in response.json()
