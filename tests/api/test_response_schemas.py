"""Every documented operation, called with real data as a user allowed to call it, answers a body
that the documented schema accepts (schemathesis validates each response against the operation's
documented response for its status: JSON schema, content type, status code documented).

The walk is one story in a seeded world (tests/security/world.py): read the register, plan and
publish a month, decide leave, cover a gap, swap, book and run a consult, upload settlements.
A new operation without a step here fails the test until one is added."""

import datetime
import time

import pytest
import requests
import schemathesis
import time_machine
from django.test import Client
from schemathesis.core.transport import Response as SchemathesisResponse

from clinics.models import Role
from notifications import dispatch
from staffing.rosters.models import CoverageGap, DutyDay
from telemedicine.models import Slot
from telemedicine.services import bookings as tele_services
from tests.api_client_helpers import TOKEN_PREFIX, api_token_for
from tests.factories import clinic_with_doctors, make_user
from tests.security.world import next_weekday
from tests.settlements.helpers import row
from tests.telemedicine.factories import patient, weekly

pytestmark = pytest.mark.django_db

DECEMBER = "2026-12"


class Walk:
    def __init__(self, schema: dict, users: dict):
        self.spec = schemathesis.openapi.from_dict(schema)
        self.documented = {
            (method.upper(), path) for path, item in schema["paths"].items() for method in item if method != "parameters"
        }
        self.called: set[tuple[str, str]] = set()
        self.tokens = {key: api_token_for(user) for key, user in users.items()}
        self.failures: list[str] = []

    def call(self, method: str, template: str, who: str, *, path=None, query=None, body=None, expect=(200,)):
        url = template.format(**(path or {}))
        client = Client(HTTP_AUTHORIZATION=f"{TOKEN_PREFIX} {self.tokens[who]}", raise_request_exception=False)
        started = time.monotonic()
        if method == "GET":
            response = client.get(url, query or {})
        else:
            response = client.generic(method, url, b"" if body is None else _json(body), content_type="application/json")
        elapsed = time.monotonic() - started
        self.called.add((method, template))
        label = f"{method} {url} as {who}"
        assert response.status_code in expect, f"{label}: {response.status_code} {response.content[:500]!r}"
        operation = self.spec[template][method]
        try:
            operation.validate_response(_as_schemathesis(response, method, url, query, elapsed))
        except Exception as exc:  # FailureGroup: every mismatch of this response; collect and go on
            self.failures.append(f"{label}: {_describe(exc)}")
        return response.json() if response["Content-Type"].startswith("application/json") else response.content


def _json(body) -> bytes:
    import json

    return json.dumps(body, ensure_ascii=False).encode()


def _as_schemathesis(response, method, url, query, elapsed) -> SchemathesisResponse:
    request = requests.Request(method=method, url=f"http://testserver{url}", params=query or {}).prepare()
    headers: dict[str, list[str]] = {}
    for name, value in response.items():
        headers.setdefault(name.lower(), []).append(value)
    return SchemathesisResponse(
        status_code=response.status_code, headers=headers, content=response.content, request=request,
        elapsed=elapsed, verify=True,
    )


def _describe(exc) -> str:
    parts = getattr(exc, "exceptions", None) or [exc]
    return " | ".join(" ".join(str(part).split())[:400] for part in parts)


def test_every_documented_operation_answers_what_its_schema_says(world, openapi):
    a, _b, users, _ = world
    walk = Walk(openapi, users)
    call = walk.call

    # The register
    call("GET", "/api/v1/townships/", "county_admin", query={"ordering": "-code"})
    call("GET", "/api/v1/townships/{id}/", "county_admin", path={"id": a.township.pk})
    call("GET", "/api/v1/clinics/", "county_admin", query={"township": a.township.code, "ordering": "name"})
    call("GET", "/api/v1/clinics/{id}/", "township_admin", path={"id": a.clinic.pk})
    call("GET", "/api/v1/doctors/", "township_admin", query={"ordering": "-hire_date"})
    call("GET", "/api/v1/doctors/{id}/", "township_admin", path={"id": a.doctors[0].pk})

    # Rosters: plan December for township A (a clinic without doctors leaves gaps), publish it
    clinic_with_doctors(0, township=a.township)
    call("POST", "/api/v1/rosters/generate/", "county_admin", body={"month": DECEMBER, "township": a.township.code})
    call("POST", "/api/v1/rosters/publish/", "county_admin", body={"month": DECEMBER, "township": a.township.code})
    call("GET", "/api/v1/rosters/", "township_admin", query={"clinic": a.clinic.code, "month": DECEMBER})
    call("GET", "/api/v1/rosters/summary/", "county_admin", query={"month": DECEMBER})
    call("GET", "/api/v1/rosters/summary/xlsx/", "county_admin", query={"month": DECEMBER})
    gaps = call("GET", "/api/v1/rosters/gaps/", "township_admin", query={"status": "open", "month": DECEMBER, "ordering": "date"})
    gap = next(g for g in gaps["results"] if g["candidates"])
    call("GET", "/api/v1/rosters/gaps/{id}/", "township_admin", path={"id": gap["id"]})
    call("POST", "/api/v1/rosters/gaps/{id}/cover/", "township_admin", path={"id": gap["id"]},
         body={"doctor_id": gap["candidates"][0]["doctor"]["id"], "reason": "就近顶班"})
    assert CoverageGap.objects.get(pk=gap["id"]).status != CoverageGap.Status.OPEN

    # Leave: the world's pending leave, and a new one
    call("GET", "/api/v1/rosters/leave/", "village_doctor", query={"status": "pending"})
    call("GET", "/api/v1/rosters/leave/{id}/", "township_admin", path={"id": a.leave.pk})
    call("GET", "/api/v1/rosters/leave/{id}/gaps/", "township_admin", path={"id": a.leave.pk})
    call("POST", "/api/v1/rosters/leave/{id}/decide/", "township_admin", path={"id": a.leave.pk}, body={"approve": True, "note": "同意"})
    mine = call("POST", "/api/v1/rosters/leave/", "village_doctor", expect=(201,),
                body={"kind": "annual", "start_date": "2026-12-28", "end_date": "2026-12-29", "reason": "探亲"})
    call("POST", "/api/v1/rosters/leave/{id}/withdraw/", "village_doctor", path={"id": mine["id"]})

    # Swaps: the doctor gives a published December duty to the colleague
    today = datetime.date.today()
    colleague_busy = set(DutyDay.objects.filter(doctor=a.doctors[1]).values_list("date", flat=True))
    duties = DutyDay.objects.filter(doctor=a.doctors[0], date__gt=today + datetime.timedelta(days=2), roster__status="published")
    free = [d for d in duties.order_by("date") if d.date not in colleague_busy and d.date.day < 21]
    walk.tokens["colleague"] = api_token_for(make_user(Role.VILLAGE_DOCTOR, doctor=a.doctors[1]))  # consents to swaps
    swap = call("POST", "/api/v1/rosters/swaps/", "village_doctor", expect=(201,),
                body={"counterpart_id": a.doctors[1].pk, "give_date": f"{free[0].date:%Y-%m-%d}", "reason": "家里有事"})
    call("GET", "/api/v1/rosters/swaps/", "township_admin")
    call("GET", "/api/v1/rosters/swaps/{id}/", "village_doctor", path={"id": swap["id"]})
    call("POST", "/api/v1/rosters/swaps/{id}/answer/", "colleague", path={"id": swap["id"]}, body={"agree": True})
    call("POST", "/api/v1/rosters/swaps/{id}/decide/", "township_admin", path={"id": swap["id"]}, body={"approve": False, "note": "人手不足"})
    second = call("POST", "/api/v1/rosters/swaps/", "village_doctor", expect=(201,),
                  body={"counterpart_id": a.doctors[1].pk, "give_date": f"{free[1].date:%Y-%m-%d}", "reason": "家里有事"})
    call("POST", "/api/v1/rosters/swaps/{id}/withdraw/", "village_doctor", path={"id": second["id"]})

    # Payroll
    slips = call("GET", "/api/v1/payroll/payslips/", "payroll_officer", query={"month": "2026-10", "ordering": "-net"})
    assert slips["results"] and slips["results"][0]["month"] == "2026-10"
    call("GET", "/api/v1/payroll/payslips/{id}/", "village_doctor", path={"id": a.payslip.pk})
    call("POST", "/api/v1/payroll/assessments/", "payroll_officer", expect=(201,),
         body={"doctor_id": a.doctors[0].pk, "period": "month", "period_start": "2026-12-01", "score": "92.50"})
    call("GET", "/api/v1/payroll/assessments/", "payroll_officer", query={"ordering": "-period_start"})
    call("POST", "/api/v1/payroll/one-off-items/", "payroll_officer", expect=(201,),
         body={"doctor_id": a.doctors[0].pk, "month": "2026-12-01", "kind": "bonus", "amount": "300.00", "description": "防疫补助"})
    call("GET", "/api/v1/payroll/one-off-items/", "payroll_officer")

    # Settlements: a terminal uploads, the clerk reads and looks one up
    call("POST", "/api/v1/settlements/", "api_client", expect=(201,),
         body=[row(a.clinic, 91, setl_id="SETLA00091", setl_time="2026-11-05 10:00:00"), {"setl_id": "BAD"}])
    found = call("GET", "/api/v1/settlements/", "insurance_clerk", query={"setl_id": "SETLA00091"})
    assert [r["setl_id"] for r in found["results"]] == ["SETLA00091"]
    call("GET", "/api/v1/settlements/", "insurance_clerk", query={"month": "2026-10", "clinic": a.clinic.code, "insutype": "390"})
    summary = call("GET", "/api/v1/settlements/summary/", "insurance_clerk", query={"month": "2026-10"})
    assert isinstance(summary, list) and summary

    # Teleconsult: book, confirm, start and complete; decline, reschedule and cancel others
    departments = call("GET", "/api/v1/teleconsult/departments/", "village_doctor")
    assert departments
    day = next_weekday(datetime.date.today() + datetime.timedelta(days=4))
    weekly(a.consultant, day.weekday(), "10:00", "11:00")  # three 20-minute slots, offered from the consultant's hours
    offered = call("GET", "/api/v1/teleconsult/slots/", "village_doctor",
                   query={"department": a.consultant.department_id, "date": f"{day:%Y-%m-%d}", "ordering": "starts_at"})
    free = [Slot.objects.get(pk=s["id"]) for s in offered]
    assert len(free) == 3
    booked = call("POST", "/api/v1/teleconsult/bookings/", "village_doctor", expect=(201,), body={
        "slot": free[0].pk, "patient_name": "韦小兰", "patient_sex": "F", "patient_age": 56,
        "chief_complaint": "反复头晕两周", "urgency": "routine", "mode": "video",
    })
    call("POST", "/api/v1/teleconsult/bookings/{id}/reschedule/", "village_doctor", path={"id": booked["id"]},
         body={"slot": free[1].pk, "reason": "病人改期"})
    call("POST", "/api/v1/teleconsult/bookings/{id}/cancel/", "village_doctor", path={"id": booked["id"]}, body={"reason": "病人已好转"})
    other = tele_services.booking_create(slot_id=free[2].pk, acting_user=users["village_doctor"], patient=patient(name="黄阿婆"),
                                         chief_complaint="咳嗽")
    call("POST", "/api/v1/teleconsult/bookings/{id}/decline/", "consultant", path={"id": other.pk}, body={"reason": "请转呼吸科"})
    call("GET", "/api/v1/teleconsult/bookings/", "village_doctor", query={"ordering": "-starts_at"})
    call("POST", "/api/v1/teleconsult/bookings/{id}/confirm/", "consultant", path={"id": a.booking.pk})
    with time_machine.travel(a.booking.starts_at + datetime.timedelta(minutes=1), tick=True):
        call("POST", "/api/v1/teleconsult/bookings/{id}/start/", "consultant", path={"id": a.booking.pk})
        call("POST", "/api/v1/teleconsult/bookings/{id}/complete/", "consultant", path={"id": a.booking.pk},
             body={"findings": "血压偏高", "advice": "低盐饮食，两周后复诊", "follow_up_date": None})
        call("GET", "/api/v1/teleconsult/bookings/{id}/", "village_doctor", path={"id": a.booking.pk})

    # Notifications (the consult's steps sent the doctor messages) and preferences
    dispatch.dispatch_due()  # the outbox delivers the in-app messages (the worker's job)
    inbox = call("GET", "/api/v1/notifications/", "village_doctor", query={"read": "unread", "ordering": "-sent_at"})
    assert inbox["results"]
    message = inbox["results"][0]["id"]
    call("GET", "/api/v1/notifications/{id}/", "village_doctor", path={"id": message})
    call("POST", "/api/v1/notifications/{id}/read/", "village_doctor", path={"id": message})
    call("POST", "/api/v1/notifications/mark-read/", "village_doctor", body={})
    preferences = call("GET", "/api/v1/notifications/preferences/", "village_doctor")
    call("PUT", "/api/v1/notifications/preferences/", "village_doctor", body=preferences)
    call("PATCH", "/api/v1/notifications/preferences/", "village_doctor", body={"mobile": ""})

    # Refusals answer the documented error body too
    call("GET", "/api/v1/doctors/", "county_admin", query={"ordering": "salary"}, expect=(400,))
    call("GET", "/api/v1/doctors/{id}/", "township_admin", path={"id": 10**9}, expect=(404,))
    call("GET", "/api/v1/settlements/", "consultant", expect=(403,))
    call("POST", "/api/v1/teleconsult/bookings/{id}/confirm/", "consultant", path={"id": a.booking.pk}, expect=(409,))

    missing = walk.documented - walk.called
    assert not missing, f"operations without a step in this walk: {sorted(missing)}"
    assert not walk.failures, "\n".join(walk.failures)

