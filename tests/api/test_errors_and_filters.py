"""The API's one error shape for every 4xx and 5xx under /api/, JSON request bodies, the
documented filters and ordering (an unknown ordering field is a 400), the settlement look-ups."""

import pytest
from django.test import Client

from clinics.settlements.services import settlements_import
from tests.api_client_helpers import TOKEN_PREFIX, api_token_for
from tests.conftest import api_as
from tests.settlements.helpers import numbered, row

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "detail", "fields"}
API_OPERATIONS = ("get", "post", "put", "patch", "delete")


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert ERROR_KEYS <= set(body) and body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body


def cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_unknown_urls_under_api_answer_json_404_in_chinese(county_admin):
    client = api_as(county_admin)
    for url in ("/api/v1/no-such-thing/", "/api/v1/doctors/1/2/3/", "/api/nothing", "/api/v2/clinics/"):
        body = error_of(client.get(url), 404, "not_found")
        assert body["fields"] == {}
    assert Client().get("/m/no-such-page/")["Content-Type"].startswith("text/html")  # pages keep HTML


def test_a_wrong_method_is_a_json_405(county_admin):
    error_of(api_as(county_admin).delete("/api/v1/clinics/"), 405, "method_not_allowed")


def test_errors_are_json_whatever_the_view_renders_or_the_client_accepts(county_admin):
    """The schema view renders YAML and the API HTML for a browser; their errors are JSON all the same."""
    client = api_as(county_admin)
    error_of(client.post("/api/schema/"), 405, "method_not_allowed")
    error_of(client.get("/api/v1/doctors/", {"ordering": "salary"}, HTTP_ACCEPT="text/html"), 400, "invalid")
    error_of(client.get("/api/v1/doctors/999999999/", HTTP_ACCEPT="text/html"), 404, "not_found")
    error_of(Client().get("/api/v1/doctors/", HTTP_ACCEPT="text/html"), 401, "not_authenticated")
    error_of(client.get("/api/v1/doctors/", HTTP_ACCEPT="application/xml"), 406, "not_acceptable")
    assert client.get("/api/schema/")["Content-Type"].startswith("application/vnd.oai.openapi")  # answers stay as they were


def test_a_server_error_under_api_is_json_500(county_admin, monkeypatch):
    from staffing import api as staffing_api

    def broken(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(staffing_api.ClinicViewSet, "get_queryset", broken)
    client = Client(raise_request_exception=False)
    client.force_login(county_admin)
    body = error_of(client.get("/api/v1/clinics/"), 500, "server_error")
    assert "boom" not in body["detail"] and body["fields"] == {}


def test_bad_input_lists_messages_per_field(world):
    _a, _b, users, _ = world
    response = api_as(users["village_doctor"]).post("/api/v1/teleconsult/bookings/", {"patient_sex": "X"})
    body = error_of(response, 400, "invalid")
    assert {"slot", "patient_name", "patient_sex", "chief_complaint"} <= set(body["fields"])
    assert all(isinstance(m, list) and m and all(isinstance(s, str) for s in m) for m in body["fields"].values())
    assert cjk(body["fields"]["patient_name"][0])


def test_not_signed_in_and_bad_tokens_are_401_with_the_shape(world):
    error_of(Client().get("/api/v1/clinics/"), 401, "not_authenticated")
    body = error_of(Client(HTTP_AUTHORIZATION=f"{TOKEN_PREFIX} " + "0" * 40).get("/api/v1/clinics/"), 401, "authentication_failed")
    assert cjk(body["detail"])


def test_out_of_role_is_403_and_a_conflict_409_with_its_own_code(world):
    a, _b, users, _ = world
    body = error_of(api_as(users["consultant"]).get("/api/v1/settlements/"), 403, "permission_denied")
    assert cjk(body["detail"])
    consultant = api_as(users["consultant"])
    assert consultant.post(f"/api/v1/teleconsult/bookings/{a.booking.pk}/confirm/").status_code == 200
    body = error_of(consultant.post(f"/api/v1/teleconsult/bookings/{a.booking.pk}/confirm/"), 409, "invalid_transition")
    assert body["state"] == "confirmed"


def test_a_form_or_multipart_body_is_refused_with_415(world):
    _a, _b, users, _ = world
    client = api_as(users["village_doctor"])
    response = client.post("/api/v1/notifications/mark-read/", {"ids": "1"}, format="multipart")
    error_of(response, 415, "unsupported_media_type")
    response = client.generic("POST", "/api/v1/notifications/mark-read/", "ids=1", content_type="application/x-www-form-urlencoded")
    error_of(response, 415, "unsupported_media_type")
    error_of(client.generic("POST", "/api/v1/notifications/mark-read/", "{", content_type="application/json"), 400, "parse_error")


def test_the_schema_declares_json_bodies_and_the_error_shape_for_every_4xx(openapi):
    error = openapi["components"]["schemas"]["Error"]
    assert set(error["required"]) == ERROR_KEYS
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method not in API_OPERATIONS:
                continue
            label = f"{method.upper()} {path}"
            body = operation.get("requestBody")
            if body:
                assert set(body["content"]) == {"application/json"}, label  # no view takes a file
            codes = {"400", "401", "403", "404", "429"} | ({"409", "415"} if method != "get" else set())
            assert codes <= set(operation["responses"]), label
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    component = openapi["components"]["schemas"][ref.rsplit("/", 1)[1]]
                    assert ERROR_KEYS <= set(component["properties"]), (label, code)


def test_ordering_works_and_an_unknown_field_is_a_400(world):
    _a, _b, users, _ = world
    client = api_as(users["county_admin"])
    names = [d["name"] for d in client.get("/api/v1/doctors/", {"ordering": "name"}).json()["results"]]
    assert names == sorted(names) and len(names) >= 4
    backwards = [d["name"] for d in client.get("/api/v1/doctors/", {"ordering": "-name"}).json()["results"]]
    assert backwards == names[::-1]
    codes = [t["code"] for t in client.get("/api/v1/townships/", {"ordering": "-code"}).json()["results"]]
    assert codes == sorted(codes, reverse=True)
    body = error_of(client.get("/api/v1/doctors/", {"ordering": "bank_account"}), 400, "invalid")
    assert "ordering" in body["fields"] and "name" in body["fields"]["ordering"][0]
    error_of(client.get("/api/v1/doctors/", {"ordering": "name,salary"}), 400, "invalid")
    # a list with a fixed order takes no ordering at all
    error_of(client.get("/api/v1/teleconsult/departments/", {"ordering": "name"}), 400, "invalid")


def test_ordering_is_documented_with_the_fields_it_accepts(openapi):
    params = {p["name"]: p for p in openapi["paths"]["/api/v1/doctors/"]["get"]["parameters"]}
    assert "hire_date" in params["ordering"]["schema"]["pattern"]
    assert "ordering" not in {p["name"] for p in openapi["paths"]["/api/v1/teleconsult/departments/"]["get"].get("parameters", [])}


def test_settlements_filter_by_setl_id_month_clinic_and_insurance_type(world, django_assert_max_num_queries):
    a, b, users, _ = world
    settlements_import(source="api", acting_user=users["insurance_clerk"], rows=numbered([
        row(a.clinic, 31, setl_id="SETLA00031", setl_time="2026-11-30 23:30:00", insutype="310"),
        row(a.clinic, 32, setl_id="SETLA00032", setl_time="2026-12-01 00:10:00"),
    ]))
    clerk = api_as(users["insurance_clerk"])

    def ids(**query):
        response = clerk.get("/api/v1/settlements/", query)
        assert response.status_code == 200, response.content
        return sorted(r["setl_id"] for r in response.json()["results"])

    assert ids(setl_id="SETLA00031") == ["SETLA00031"]
    assert ids(setl_id="NOSUCH") == []
    assert ids(month="2026-11") == ["SETLA00031"]  # Beijing time: 23:30 on 30 November is November's
    assert ids(month="2026-12") == ["SETLA00032"]
    assert ids(month="2026-10", clinic=b.clinic.code) == sorted(b.settlement_ids)
    assert ids(insutype="310") == ["SETLA00031"]
    body = error_of(clerk.get("/api/v1/settlements/", {"month": "2026/11"}), 400, "invalid")
    assert "month" in body["fields"]
    error_of(clerk.get("/api/v1/settlements/", {"insutype": "999"}), 400, "invalid")
    # the township admin looks up only inside the reach
    assert api_as(users["township_admin"]).get("/api/v1/settlements/", {"setl_id": b.settlement_ids[0]}).json()["results"] == []
    ordered = clerk.get("/api/v1/settlements/", {"ordering": "settled_at"}).json()["results"]
    assert [r["settled_at"] for r in ordered] == sorted(r["settled_at"] for r in ordered)
    with django_assert_max_num_queries(4):
        clerk.get("/api/v1/settlements/", {"month": "2026-10", "clinic": a.clinic.code, "insutype": "390"})


def test_settlement_summary_is_a_plain_list_as_documented(world, openapi):
    _a, _b, users, _ = world
    body = api_as(users["insurance_clerk"]).get("/api/v1/settlements/summary/", {"month": "2026-10"}).json()
    assert isinstance(body, list) and {"fixmedins_code", "visits"} <= set(body[0])
    schema = openapi["paths"]["/api/v1/settlements/summary/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["type"] == "array"
    params = {p["name"] for p in openapi["paths"]["/api/v1/settlements/summary/"]["get"]["parameters"]}
    assert params == {"month"}


def test_payslip_month_is_documented_as_the_yyyy_mm_it_is(world, openapi):
    a, _b, users, _ = world
    slip = api_as(users["village_doctor"]).get(f"/api/v1/payroll/payslips/{a.payslip.pk}/").json()
    assert slip["month"] == "2026-10"
    month = openapi["components"]["schemas"]["Payslip"]["properties"]["month"]
    assert month.get("format") != "date" and month["pattern"] == r"^\d{4}-(0[1-9]|1[0-2])$"


def test_a_token_user_gets_the_same_error_shape(world):
    _a, _b, users, _ = world
    client = Client(HTTP_AUTHORIZATION=f"{TOKEN_PREFIX} {api_token_for(users['api_client'])}")
    error_of(client.get("/api/v1/doctors/"), 403, "permission_denied")
