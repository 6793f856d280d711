"""An integrator's view: generate a Python client from the schema with openapi-python-client, import
every module it wrote (all must import), and use it against a live server to book a consult, read
it back and upload settlements. The client is generated once per test session (a few seconds)."""

import datetime
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.api_client_helpers import TOKEN_PREFIX, api_token_for
from tests.settlements.helpers import row

pytestmark = [pytest.mark.generated_client, pytest.mark.django_db(transaction=True)]

PACKAGE = "cunyi_api_client"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GENERATOR_CONFIG = f"""\
post_hooks: []
content_type_overrides:
  {XLSX}: application/octet-stream
"""


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory):
    """The client package, generated from `manage.py spectacular --file` and imported whole."""
    work = tmp_path_factory.mktemp("openapi_client")
    schema = work / "schema.yml"
    call_command("spectacular", file=str(schema), validate=True, fail_on_warn=True)
    (work / "config.yml").write_text(GENERATOR_CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [str(generator), "generate", "--path", str(schema), "--output-path", str(work / PACKAGE), "--meta", "none",
         "--config", str(work / "config.yml")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(work))
    try:
        package = importlib.import_module(PACKAGE)
        modules, broken = [], []
        for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
            try:
                modules.append(importlib.import_module(info.name))
            except Exception as exc:  # every module that fails is reported, not just the first
                broken.append(f"{info.name}: {type(exc).__name__}: {exc}")
        yield package, modules, broken
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_every_generated_module_imports(generated_client, openapi, capsys):
    _package, modules, broken = generated_client
    assert not broken, "\n".join(broken)
    operations = [m for m in modules if m.__name__.startswith(f"{PACKAGE}.api.") and hasattr(m, "sync_detailed")]
    documented = sum(1 for item in openapi["paths"].values() for method in item if method in ("get", "post", "put", "patch", "delete"))
    assert len(operations) == documented >= 50, (len(operations), documented)
    with capsys.disabled():
        print(f"\ngenerated client: {len(modules)} modules imported, {len(operations)} operation modules "
              f"for {documented} documented operations, 0 failed")  # fmt: skip


def test_the_generated_client_books_a_consult_reads_it_back_and_uploads_settlements(generated_client, live_server, world):
    from telemedicine.models import ConsultBooking
    from tests.security.world import next_weekday
    from tests.telemedicine.factories import weekly

    a, _b, users, _ = world
    client_module = importlib.import_module(f"{PACKAGE}.client")
    api = importlib.import_module(f"{PACKAGE}.api.teleconsult")
    models = importlib.import_module(f"{PACKAGE}.models")
    book = importlib.import_module(f"{api.__name__}.v1_teleconsult_bookings_create")
    read = importlib.import_module(f"{api.__name__}.v1_teleconsult_bookings_retrieve")
    slots = importlib.import_module(f"{api.__name__}.v1_teleconsult_slots_list")
    upload = importlib.import_module(f"{PACKAGE}.api.settlements.v1_settlements_create")
    look_up = importlib.import_module(f"{PACKAGE}.api.settlements.v1_settlements_list")

    day = next_weekday(datetime.date.today() + datetime.timedelta(days=5))
    weekly(a.consultant, day.weekday(), "15:00", "15:40")  # two slots, offered from the consultant's hours
    doctor = client_module.AuthenticatedClient(base_url=live_server.url, token=api_token_for(users["village_doctor"]), prefix=TOKEN_PREFIX)
    with doctor as http:
        offered = slots.sync(client=http, department=a.consultant.department_id, date=day)
        assert offered and offered[0].free_places == 1
        answer = book.sync_detailed(client=http, body=models.BookingCreateRequest(
            slot=offered[0].id, patient_name="韦小兰", patient_sex=models.SexEnum.F, patient_age=56,
            chief_complaint="反复头晕两周，血压 170/100",
        ))
        assert answer.status_code == 201, answer.content
        booking = answer.parsed
        assert isinstance(booking, models.Booking) and booking.status == "requested"
        detail = read.sync(client=http, id=booking.id)
        assert isinstance(detail, models.BookingDetail)
        assert (detail.id, detail.patient_name, detail.starts_at) == (booking.id, "韦小兰", offered[0].starts_at)
        assert [event.kind for event in detail.events] == ["requested"]
        # A retry after a timeout, with the key of the first try: the same booking, not a 409.
        retry_body = models.BookingCreateRequest(
            slot=offered[1].id, patient_name="韦小兰", patient_sex=models.SexEnum.F, patient_age=56, chief_complaint="头晕复诊",
        )
        first = book.sync_detailed(client=http, body=retry_body, idempotency_key="terminal-7-0001")
        retried = book.sync_detailed(client=http, body=retry_body, idempotency_key="terminal-7-0001")
        assert (first.status_code, retried.status_code) == (201, 201) and retried.parsed.id == first.parsed.id
        assert retried.headers["Idempotent-Replayed"] == "true"
        retry_body.chief_complaint = "咳嗽"
        reused = book.sync_detailed(client=http, body=retry_body, idempotency_key="terminal-7-0001")
        assert reused.status_code == 422 and reused.parsed.code == "idempotency_key_reused"
        again = book.sync_detailed(client=http, body=models.BookingCreateRequest(
            slot=offered[0].id, patient_name="黄阿婆", patient_sex=models.SexEnum.F, patient_age=70, chief_complaint="咳嗽",
        ))
        assert again.status_code == 409 and again.parsed.code == "slot_full"  # the documented conflict, typed
    assert ConsultBooking.objects.filter(pk=booking.id, patient_name="韦小兰").exists()
    assert ConsultBooking.objects.filter(chief_complaint="头晕复诊").count() == 1

    terminal = client_module.AuthenticatedClient(base_url=live_server.url, token=api_token_for(users["api_client"]), prefix=TOKEN_PREFIX)
    fields = models.SettlementUploadRowRequest
    rows = [fields.from_dict(row(a.clinic, n, setl_id=f"SETLA0900{n}")) for n in (1, 2)]
    with terminal as http:
        report = upload.sync_detailed(client=http, body=rows)
        assert report.status_code == 201, report.content
        assert (report.parsed.accepted, report.parsed.duplicates, report.parsed.rejected) == (2, 0, 0)
        resent = upload.sync(client=http, body=rows[:1])
        assert (resent.accepted, resent.duplicates) == (0, 1)
    clerk = client_module.AuthenticatedClient(base_url=live_server.url, token=api_token_for(users["insurance_clerk"]), prefix=TOKEN_PREFIX)
    with clerk as http:
        found = look_up.sync(client=http, setl_id="SETLA09001")
        assert [r.setl_id for r in found.results] == ["SETLA09001"] and found.results[0].fixmedins_code == a.clinic.code
        refused = look_up.sync_detailed(client=http, ordering="salary")
        assert refused.status_code == 400 and refused.parsed.code == "invalid" and "ordering" in refused.parsed.fields.to_dict()
