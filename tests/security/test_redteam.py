"""Red-team findings on issue 13 (reach on every write path, safe files in and out).

Each test is one hole found by attacking a demo instance as a township admin, a village doctor and
an API terminal. They are marked xfail(strict=True): they fail now and the suite stays green; when a
hole is fixed its test passes, strict xfail turns that into a failure, and the marker is removed.
A test without the marker is a hole fixed while the red team ran (kept as its regression test)."""

import datetime
import json
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from clinics.models import Role
from clinics.settlements.models import SettlementRecord
from core.models import AuditEntry
from staffing.models import Doctor
from tests.conftest import api_as
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory, TownshipFactory, make_user
from tests.settlements.helpers import row

pytestmark = pytest.mark.django_db


# --- a two-township world small enough for every test -----------------------------------------

@pytest.fixture
def towns(roles):
    a, b = TownshipFactory(name="甲乡"), TownshipFactory(name="乙乡")
    a1, b1 = FacilityFactory(township=a, name="甲一村卫生室"), FacilityFactory(township=b, name="乙一村卫生室")
    hospital = FacilityFactory(township=a, name="甲乡卫生院", kind="township_hospital")
    doctor_a = PostingFactory(facility=a1, doctor=DoctorFactory(name="甲医生")).doctor
    doctor_a2 = PostingFactory(facility=a1, doctor=DoctorFactory(name="甲医生二")).doctor
    doctor_b = PostingFactory(facility=b1, doctor=DoctorFactory(name="乙医生")).doctor
    return {
        "a": a, "b": b, "a1": a1, "b1": b1, "hospital": hospital,
        "doctor_a": doctor_a, "doctor_a2": doctor_a2, "doctor_b": doctor_b,
        "admin_a": make_user(Role.TOWNSHIP_ADMIN, township=a, username="ta_a"),
        "vd_a": make_user(Role.VILLAGE_DOCTOR, doctor=doctor_a, username="vd_a"),
        "consultant_a": make_user(Role.CONSULTANT, facility=hospital, username="cons_a"),
        "api_a": make_user(Role.API_CLIENT, facility=a1, username="api_a"),
        "county": make_user(Role.COUNTY_ADMIN, username="county"),
    }


class _Form(HTMLParser):
    """The values a browser would submit from an admin change form (inputs, selects, textareas)."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data[name] = attrs.get("value", "on" if attrs.get("type") == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_data(response) -> dict:
    parser = _Form()
    parser.feed(response.content.decode())
    parser.data.pop("csrfmiddlewaretoken", None)
    return parser.data


# --- 1. a doctor's login can be re-pointed at any account of the township ----------------------

@pytest.mark.parametrize("account", ["admin_a", "consultant_a"])
def test_township_admin_cannot_link_a_doctor_to_an_account_that_is_not_a_village_doctor(client, towns, account):
    """Seen live: tongle_admin POSTed the change form of 黄德明 with user=<tongle_admin's id> (and
    with the consultant's id): 302, the doctor's login became that account, the village doctor's own
    login lost its payslips and duty pages (/m/pay/ 404) and the account took them over; no audit row."""
    doctor = towns["doctor_a"]
    client.force_login(towns["admin_a"])
    url = reverse("admin:staffing_doctor_change", args=[doctor.pk])
    data = form_data(client.get(url))
    data["user"] = str(towns[account].pk)
    audits = AuditEntry.objects.count()
    response = client.post(url, data)
    doctor.refresh_from_db()
    assert doctor.user_id == towns["vd_a"].pk, (response.status_code, doctor.user_id)
    assert AuditEntry.objects.count() == audits


def test_a_change_of_a_doctors_login_is_audited(client, towns):
    """The county admin re-points a doctor's login (allowed for the county); the trail must say so."""
    doctor = towns["doctor_a2"]
    spare = make_user(Role.VILLAGE_DOCTOR, facility=towns["a1"], username="vd_spare")
    client.force_login(towns["county"])
    url = reverse("admin:staffing_doctor_change", args=[doctor.pk])
    data = form_data(client.get(url))
    data["user"] = str(spare.pk)
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    response = client.post(url, data)
    assert response.status_code == 302, [
        (f, e) for f, e in (response.context["adminform"].form.errors.items() if response.context else [])
    ]
    doctor.refresh_from_db()
    assert doctor.user_id == spare.pk
    new = AuditEntry.objects.exclude(pk__in=before)
    assert any("user" in json.dumps(entry.changes) for entry in new), list(new.values("action", "changes"))


# --- 1b. the doctor add form, offered to a township admin, answers 500 ---------------------------

def test_township_admin_doctor_add_form_refuses_without_a_500(client, towns):
    """Seen live: tongle_admin filled /admin/staffing/doctor/add/ (the button is offered) and got 500
    ValidationError 'Registering a doctor without a clinic is a county health bureau action' raised
    by services.doctor_create inside DoctorAdmin.save_model."""
    client.force_login(towns["admin_a"])
    client.raise_request_exception = False
    url = reverse("admin:staffing_doctor_add")
    data = form_data(client.get(url))
    data.update({
        "name": "新医生", "sex": "M", "birth_date": "1990-01-01", "id_number": "451028199001010211",
        "mobile": "13900009999", "qualification": "village_doctor", "hire_date": "2020-01-01", "status": "active",
        "bank_name": "广西农村信用社", "bank_account": "6230123412341234123",
    })
    response = client.post(url, data)
    assert response.status_code != 500
    assert not Doctor.objects.filter(name="新医生").exists()


# --- 2. the county's holiday calendar is reloaded by a township admin ---------------------------

def test_township_admin_cannot_reload_the_holiday_calendar(client, towns):
    """Seen live: tongle_admin POSTed action=reload_from_package with _selected_action=<2004's id>
    to /admin/rosters/calendaryear/: "2004 年已重新载入", audit holidays.load by tongle_admin.
    The calendar rules every township's rosters and `replace=True` discards the county's corrections."""
    from staffing.rosters.models import CalendarYear
    from staffing.rosters.services import holidays

    year, _ = holidays.holiday_year_load(year=2026)
    loaded_at = year.loaded_at
    client.force_login(towns["admin_a"])
    url = reverse("admin:rosters_calendaryear_changelist")
    client.post(url, {"action": "reload_from_package", "_selected_action": [str(year.pk)], "index": "0"})
    assert CalendarYear.objects.get(pk=year.pk).loaded_at == loaded_at
    assert not AuditEntry.objects.filter(actor=towns["admin_a"], action__startswith="holidays.").exists()


# --- 2b. a posting closed back in time, over published rosters and a paid month -------------------

def _close_posting_in_admin(client, user, posting, end_date: str):
    client.force_login(user)
    url = reverse("admin:staffing_posting_change", args=[posting.pk])
    data = form_data(client.get(url))
    data["end_date"] = end_date
    return client.post(url, data)


def test_posting_end_cannot_be_backdated_over_published_duties_and_paid_months(client, world):
    """Seen live: tongle_admin set end_date 2016-03-01 on the open posting of a doctor with 27
    published duty days in 2026-12: 302, the doctor left the township admin's reach (and the
    clinic's staffing count) with the roster still naming them."""
    a, _b, users, _users_b = world
    doctor = a.doctors[1]  # on duty 2026-10-17 in a published roster, paid in the approved October run
    posting = doctor.postings.get(end_date__isnull=True)
    _close_posting_in_admin(client, users["township_admin"], posting, "2026-10-01")
    posting.refresh_from_db()
    assert posting.end_date is None or posting.end_date >= datetime.date(2026, 10, 31)


def test_posting_close_audits_the_old_end_date(client, towns):
    """Seen live: the audit row of the admin's close read {"end_date": ["2016-03-01", "2016-03-01"]}
    for a posting that had no end date (the form had already set it on the instance)."""
    posting = towns["doctor_a2"].postings.get(end_date__isnull=True)
    response = _close_posting_in_admin(client, towns["admin_a"], posting, "2030-12-31")
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(action="posting.close", object_id=str(posting.pk)).latest("pk")
    assert entry.changes["end_date"][0] in (None, "")
    assert entry.changes["end_date"][1] == "2030-12-31"


# --- 3. masked personal data recovered through changelist lookups -------------------------------

@pytest.mark.parametrize("lookup", ["bank_account", "id_number", "bank_account__startswith", "id_number__regex"])
def test_changelist_lookups_do_not_reveal_masked_values(client, towns, lookup):
    """Seen live: as tongle_admin /admin/staffing/doctor/?bank_account=6230000000000000001 lists
    exactly one doctor and ?bank_account=…0009 another: a township admin, who sees ****0001 on the
    page, recovers every full bank account and ID number in reach digit by digit (__startswith,
    __regex work too)."""
    doctor = towns["doctor_a"]
    client.force_login(towns["admin_a"])
    url = reverse("admin:staffing_doctor_changelist")
    field = lookup.split("__")[0]
    true_value = getattr(doctor, field)
    if lookup.endswith("__regex"):
        true_value, false_value = f"^{true_value[:-1]}", "^X"
    else:
        false_value = "0" * len(true_value)
    hit, miss = client.get(url, {lookup: true_value}), client.get(url, {lookup: false_value})
    if hit.status_code == 400 or miss.status_code == 400:
        return  # refused, as it must be
    assert hit.context["cl"].result_count == miss.context["cl"].result_count


def _with_patient_id(booking) -> str:
    booking.patient_id_number = "451028198506150012"
    booking.save(update_fields=["patient_id_number"])
    return booking.patient_id_number


@pytest.mark.parametrize("changelist,lookup,value_of", [
    ("admin:payroll_payslip_changelist", "bank_account", lambda a: a.payslip.bank_account),
    ("admin:telemedicine_consultbooking_changelist", "patient_id_number", lambda a: _with_patient_id(a.booking)),
])
def test_other_changelists_do_not_answer_lookups_on_hidden_values(client, world, changelist, lookup, value_of):
    """The same oracle as the doctor changelist's: the payslip's bank account and the patient's
    ID number (excluded from the booking form) are confirmed by a 1-vs-0 result count."""
    a, _b, users, _users_b = world
    value = value_of(a)
    assert value, "the world gives this row a value"
    client.force_login(users["township_admin"])
    url = reverse(changelist)
    hit, miss = client.get(url, {lookup: value}), client.get(url, {lookup: "0" * len(value)})
    if hit.status_code == 400 or miss.status_code == 400:
        return
    assert hit.context["cl"].result_count == miss.context["cl"].result_count


# --- 4. the API's reach refusal shows raw placeholders ------------------------------------------

def test_out_of_reach_id_message_names_the_field_and_id(towns):
    """Seen live: POST /api/v1/rosters/leave/ with doctor_id of another township's doctor answered
    400 {"doctor_id": ["No %(what)s with the id %(pk_value)s is in your reach."]} (DRF fills
    {name} placeholders, not %(name)s)."""
    response = api_as(towns["admin_a"]).post(
        "/api/v1/rosters/leave/",
        {"doctor_id": towns["doctor_b"].pk, "kind": "annual", "start_date": "2027-02-01", "end_date": "2027-02-02", "reason": "x"},
        format="json",
    )
    assert response.status_code == 400
    message = " ".join(response.json()["fields"]["doctor_id"])
    assert "%(" not in message and str(towns["doctor_b"].pk) in message


# --- 5. files in: the settlement API ------------------------------------------------------------

def test_settlement_upload_refuses_non_text_values(towns):
    """Seen live: a terminal sent setl_id ["x"] and psn_name {"a": 1}: accepted, stored as
    setl_id "['x']" and psn_name "{'a': 1}"."""
    body = [{**row(towns["a1"], 1), "setl_id": ["x"], "psn_name": {"a": 1}}]
    response = api_as(towns["api_a"]).post("/api/v1/settlements/", body, format="json")
    assert response.status_code in (201, 400)
    assert not SettlementRecord.objects.filter(setl_id__startswith="[").exists()
    assert not SettlementRecord.objects.filter(psn_name__startswith="{").exists()


@pytest.mark.parametrize("who,path", [("api_a", "/api/v1/settlements/"), ("vd_a", "/api/v1/rosters/leave/")])
def test_deeply_nested_json_is_a_400_not_a_500(towns, who, path):
    """Seen live: POST /api/v1/settlements/ with the token and the body "[" * 100000 answered 500
    RecursionError. Any JSON write of any signed-in user does the same."""
    client = api_as(towns[who])
    client.raise_request_exception = False
    response = client.post(path, data=b"[" * 100_000, content_type="application/json")
    assert response.status_code == 400


# --- 5b. files in: a NUL character in a doctor import --------------------------------------------

def test_doctor_import_refuses_or_strips_nul_characters(client, towns, settings, tmp_path):
    """Seen live: a CSV row with the name "甲\\x00乙" previewed and confirmed ("导入完成：新增医生 1 名")
    and the name was stored with the NUL (SQLite); psycopg refuses NUL in text, so on PostgreSQL the
    confirm answers 500. The settlement upload strips NUL, the API's CharFields refuse it."""
    import re

    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.VAR_DIR = tmp_path
    url = reverse("admin:staffing_doctor_import")
    header = "name,sex,birth_date,id_number,mobile,qualification,hire_date,clinic_code\n"
    line = f"甲\x00乙,男,1990-01-01,451028199001010115,13900002222,乡村医生,2020-01-01,{towns['a1'].code}\n"
    client.force_login(towns["admin_a"])
    client.raise_request_exception = False
    preview = client.post(url, {"file": SimpleUploadedFile("d.csv", (header + line).encode(), content_type="text/csv")})
    token = re.search(r'name="token" value="([^"]+)"', preview.content.decode())
    if token:
        response = client.post(url, {"token": token.group(1), "action": "confirm"})
        assert response.status_code != 500
    # In Python: SQLite's LIKE stops its pattern at a NUL, so name__contains="\x00" matches every row.
    assert not [d.name for d in Doctor.objects.all() if "\x00" in d.name]


def test_holiday_calendar_import_with_an_impossible_year_is_refused_without_a_500(client, towns):
    """Seen live: county_admin uploaded "date,kind,name / 9999-12-31,holiday,x" to
    /admin/rosters/calendaryear/import/: 500 IntegrityError (CHECK constraint calendar_year_in_range)
    from holidays._replace_year; the row must be refused with its number like any other bad row."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(towns["county"])
    client.raise_request_exception = False
    data = b"date,kind,name\n9999-12-31,holiday,x\n"
    response = client.post(
        reverse("admin:rosters_calendaryear_import"), {"file": SimpleUploadedFile("h.csv", data, content_type="text/csv")}
    )
    assert response.status_code in (200, 302)


# --- 6. the lockout behind the proxy: the app port is published past the proxy --------------------

def test_compose_does_not_publish_the_app_port_past_the_trusted_proxy():
    """With TRUSTED_PROXY_COUNT=1 the client address is the last X-Forwarded-For entry. The
    compose file publishes web as "8000:8000" (every interface), so a client that reaches port 8000
    directly writes that entry itself: a new address per try, no lockout ever (AXES counts per
    username and address) and no anonymous API throttle. The port must be bound to the proxy only
    (127.0.0.1:8000:8000, or expose without ports)."""
    from pathlib import Path

    import yaml
    from django.conf import settings as django_settings

    compose = yaml.safe_load((Path(django_settings.BASE_DIR) / "docker-compose.yml").read_text())
    web = compose["services"]["web"]
    trusted = str(web.get("environment", {}).get("TRUSTED_PROXY_COUNT") or compose["x-app"]["environment"]["TRUSTED_PROXY_COUNT"])
    assert trusted.strip("${}").split(":-")[-1] != "0"
    for port in web.get("ports", []):
        assert str(port).startswith(("127.0.0.1:", "[::1]:")), port


assert Doctor and datetime  # used by the tests above through the factories
