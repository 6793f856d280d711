"""The permission matrix: every role × every API list endpoint, admin changelist and parameterless
phone page (found by walking the URL conf and the admin registry), checked against an access rule
per URL family; and nothing of township B ever reaches a user whose reach is township A — not in a
list, a detail, an export or a calendar feed."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from clinics.settlements.models import SettlementRecord
from staffing.rosters.services.feeds import calendar_feed_get_or_create
from tests.conftest import api_as
from tests.security.inspect import leaks, response_text
from tests.security.urls import admin_changelists, api_list_endpoints, page_endpoints

pytestmark = pytest.mark.django_db

ROLES = ("county_admin", "township_admin", "payroll_officer", "insurance_clerk", "village_doctor", "consultant", "api_client")
COUNTY_WIDE = {"county_admin", "payroll_officer", "insurance_clerk"}
EVERY = set(ROLES)
NOT_TERMINAL = EVERY - {"api_client"}

# API: path prefix after /api/v1/ -> roles answered 200 (all others 403). Longest prefix wins.
API_RULES = {
    "townships": NOT_TERMINAL,
    "clinics": NOT_TERMINAL,
    "doctors": NOT_TERMINAL,
    "notifications": NOT_TERMINAL,
    "payroll": {"county_admin", "township_admin", "payroll_officer", "village_doctor"},
    "payroll/assessments": {"county_admin", "payroll_officer"},  # pay inputs: county-wide payroll roles, as in admin
    "payroll/one-off-items": {"county_admin", "payroll_officer"},
    "rosters": {"county_admin", "township_admin", "payroll_officer", "village_doctor"},
    "rosters/summary": {"county_admin", "township_admin", "payroll_officer"},
    "settlements": {"county_admin", "township_admin", "insurance_clerk", "village_doctor"},
    "teleconsult": {"county_admin", "township_admin", "village_doctor", "consultant"},
}

STAFF = {"county_admin", "township_admin", "payroll_officer", "insurance_clerk"}
# Admin: app label -> staff roles answered 200; other staff 403; non-staff roles go to the login (302).
ADMIN_RULES = {
    "clinics": STAFF,
    "core": STAFF,  # the audit trail, read-only
    "staffing": {"county_admin", "township_admin", "payroll_officer"},
    "rosters": {"county_admin", "township_admin", "payroll_officer"},
    "payroll": {"county_admin", "township_admin", "payroll_officer"},
    "settlements": {"county_admin", "township_admin", "insurance_clerk"},
    "telemedicine": {"county_admin", "township_admin"},
    "notifications": {"county_admin", "township_admin"},
    "django_celery_beat": set(),  # technical: superusers only (config.admin_site.TECHNICAL_APP_LABELS)
    "auth": set(),  # users and groups are managed by superusers only
    "axes": set(),
}
# A proxy of Facility (coverage per clinic) follows the register's permissions.
ADMIN_MODEL_FAMILY = {"/admin/staffing/cliniccoverage/": "clinics"}

# Phone pages: path -> {role: status}; roles not named answer `default`.
PAGE_RULES = {
    "/m/": ({}, 200),
    "/m/login/": ({}, 200),
    # the installable app's manifest and service worker hold nothing personal
    "/m/manifest.webmanifest": ({}, 200),
    "/m/sw.js": ({}, 200),
    "/m/inbox/": ({}, 200),
    "/m/inbox/settings/": ({}, 200),
    # every signed-in account may set its own password (a one-time one must be replaced here)
    "/m/password/": ({}, 200),
    "/m/consult/": ({"consultant": 302}, 200),  # a consultant is sent on to their schedule
    "/m/consult/book/": ({"village_doctor": 200}, 403),
    "/m/consult/schedule/": ({"consultant": 200}, 403),
    "/m/consult/queue/": ({"consultant": 200}, 403),
    "/m/duty/": ({"village_doctor": 200}, 403),
    "/m/duty/leave/": ({"village_doctor": 200}, 403),
    "/m/duty/swap/": ({"village_doctor": 200}, 403),
    "/m/duty/calendar/settings/": ({"village_doctor": 200}, 403),
    "/m/pay/": ({"village_doctor": 200}, 404),
    # POST-only actions answer a GET with 405 for everyone
    "/m/duty/calendar/reset/": ({}, 405),
    "/m/inbox/read-all/": ({}, 405),
    "/m/logout/": ({}, 405),
}


def expected_api(path: str, role: str) -> int:
    key = path.removeprefix("/api/v1/").strip("/")
    prefix = max((p for p in API_RULES if key == p or key.startswith(p + "/")), key=len, default=None)
    assert prefix is not None, f"{path}: a new API endpoint needs an access rule in API_RULES"
    return 200 if role in API_RULES[prefix] else 403


def expected_admin(path: str, family: str, role: str) -> int:
    family = ADMIN_MODEL_FAMILY.get(path, family)
    assert family in ADMIN_RULES, f"{path}: a new admin app needs an access rule in ADMIN_RULES"
    if role == "api_client":
        return 403
    if role not in STAFF:
        return 302
    return 200 if role in ADMIN_RULES[family] else 403


TERMINAL_OPEN_PAGES = {"/m/login/", "/m/logout/"}


def expected_page(path: str, role: str) -> int:
    assert path in PAGE_RULES, f"{path}: a new phone page needs an access rule in PAGE_RULES"
    if role == "api_client" and path not in TERMINAL_OPEN_PAGES:
        return 403  # a terminal's account only uploads settlements through the API
    overrides, default = PAGE_RULES[path]
    return overrides.get(role, default)


def query_for(path: str, world_a, department_id, slot_day) -> dict:
    return {"month": "2026-10", "clinic": world_a.clinic.code, "department": department_id, "date": f"{slot_day:%Y-%m-%d}"}


def test_every_role_on_every_endpoint_sees_only_its_reach(world, capsys):
    a, b, users, _users_b = world
    assert set(users) == set(ROLES)
    apis, admins, pages = api_list_endpoints(), admin_changelists(), page_endpoints()
    assert len(apis) >= 15 and len(admins) >= 40 and len(pages) >= 10
    params = query_for("", a, a.consultant.department_id, a.booking.slot.starts_at.date())

    wrong, leaked, seen_b = [], [], set()
    for role in ROLES:
        user = users[role]
        api, browser = api_as(user), Client()
        browser.force_login(user)
        for endpoint in apis + admins + pages:
            if endpoint.kind == "api":
                response, want = api.get(endpoint.path, params), expected_api(endpoint.path, role)
            elif endpoint.kind == "admin":
                response, want = browser.get(endpoint.path), expected_admin(endpoint.path, endpoint.family, role)
            else:
                response, want = browser.get(endpoint.path, {"month": "2026-10"}), expected_page(endpoint.path, role)
            if response.status_code != want:
                wrong.append(f"{role} {endpoint}: {response.status_code}, expected {want}")
            text = response_text(response)
            if role in COUNTY_WIDE:
                seen_b.update(leaks(text, b.markers))
            elif found := leaks(text, b.markers):
                leaked.append(f"{role} {endpoint}: {found}")

    cells = len(ROLES) * (len(apis) + len(admins) + len(pages))
    print(
        f"\npermission matrix: {len(ROLES)} roles × {len(apis) + len(admins) + len(pages)} endpoints "
        f"({len(apis)} API lists, {len(admins)} admin changelists, {len(pages)} phone pages) = {cells} cells"
    )
    assert not wrong, f"{len(wrong)} of {cells} cells differ from the access rules:\n" + "\n".join(wrong)
    assert not leaked, "township B's data reached A's reach:\n" + "\n".join(leaked)
    # the markers are real: county-wide roles do see B's clinic, doctors, patient and settlements
    assert {b.clinic.code, b.doctors[0].name, "乙病人", b.settlement_ids[0]} <= seen_b
    with capsys.disabled():
        print(f"permission matrix: {cells} cells ({len(ROLES)} roles × {cells // len(ROLES)} endpoints), all as expected")


def b_detail_urls(b) -> list[tuple[str, str]]:
    record = SettlementRecord.objects.filter(setl_id=b.settlement_ids[0]).first()
    return [
        ("api", f"/api/v1/doctors/{b.doctors[0].pk}/"),
        ("api", f"/api/v1/clinics/{b.clinic.pk}/"),
        ("api", f"/api/v1/payroll/payslips/{b.payslip.pk}/"),
        ("api", f"/api/v1/rosters/leave/{b.leave.pk}/"),
        ("api", f"/api/v1/teleconsult/bookings/{b.booking.pk}/"),
        ("web", reverse("admin:staffing_doctor_change", args=[b.doctors[0].pk])),
        ("web", reverse("admin:staffing_doctor_history", args=[b.doctors[0].pk])),
        ("web", reverse("admin:clinics_facility_change", args=[b.clinic.pk])),
        ("web", reverse("admin:payroll_payslip_change", args=[b.payslip.pk])),
        ("web", reverse("admin:rosters_leaverequest_change", args=[b.leave.pk])),
        ("web", reverse("admin:telemedicine_consultbooking_change", args=[b.booking.pk])),
        ("web", reverse("admin:settlements_settlementrecord_change", args=[record.pk])),
        ("web", reverse("payroll:payslip", args=[b.payslip.pk])),
        ("web", reverse("payroll:payslip_pdf", args=[b.payslip.pk])),
        ("web", reverse("telemedicine:booking_detail", args=[b.booking.pk])),
    ]


@pytest.mark.parametrize("role", ["township_admin", "village_doctor", "consultant", "api_client"])
def test_details_of_the_other_township_are_refused(world, role):
    a, b, users, _ = world
    api, browser = api_as(users[role]), Client()
    browser.force_login(users[role])
    for kind, url in b_detail_urls(b):
        response = api.get(url) if kind == "api" else browser.get(url)
        assert response.status_code in (302, 403, 404), f"{role} {url}: {response.status_code}"
        if response.status_code == 302:  # admin: to the login, or to the index with "does not exist"
            assert "/admin/" in response["Location"], url
        assert not leaks(response_text(response), b.markers), url


def export_actions():
    for model, model_admin in admin.site._registry.items():
        for name in getattr(model_admin, "actions", None) or ():
            if isinstance(name, str) and "export" in name:
                yield model, name


def test_exports_of_an_a_scoped_user_hold_nothing_of_b(world):
    """Every admin export action, asked by A's township admin for every row (B's too, as a crafted
    request would), and the payslip PDF and calendar feed of A's doctor."""
    a, b, users, _ = world
    browser = Client()
    browser.force_login(users["township_admin"])
    actions = list(export_actions())
    assert len(actions) >= 5
    for model, name in actions:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        ids = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)]
        response = browser.post(url, {"action": name, "_selected_action": ids, "index": 0})
        assert response.status_code in (200, 302), f"{name}: {response.status_code}"
        assert not leaks(response_text(response), b.markers), f"{model.__name__}.{name}"

    doctor = Client()
    doctor.force_login(users["village_doctor"])
    pdf = doctor.get(reverse("payroll:payslip_pdf", args=[a.payslip.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert doctor.get(reverse("payroll:payslip_pdf", args=[b.payslip.pk])).status_code == 404

    feed = calendar_feed_get_or_create(doctor=a.doctors[0])
    ical = Client().get(reverse("rosters:ical", args=[feed.token]))
    assert ical.status_code == 200 and b"BEGIN:VCALENDAR" in ical.content
    assert not leaks(response_text(ical), b.markers)


def test_an_api_client_only_uploads_its_own_clinics_settlements(world):
    from tests.settlements.helpers import row

    a, b, users, _ = world
    terminal = api_as(users["api_client"])
    report = terminal.post("/api/v1/settlements/", [row(a.clinic, 71, setl_id="SETLA00071"), row(b.clinic, 72, setl_id="SETLB00072")], format="json")
    assert report.status_code == 201, report.content
    assert report.json()["accepted"] == 1 and report.json()["rejected"] == 1
    assert a.clinic.code in report.json()["rejected_rows"][0]["reason"]
    assert not SettlementRecord.objects.filter(setl_id="SETLB00072").exists()
    for url in ("/api/v1/settlements/", "/api/v1/doctors/", "/api/v1/payroll/payslips/", "/api/v1/teleconsult/bookings/"):
        response = terminal.get(url)
        assert response.status_code == 403 and response.json()["detail"] == "您没有执行此操作的权限。", url


def test_own_scope_details_open_for_the_township_admin(world):
    """The same detail pages of A's own objects open (200) for A's township admin — masked where
    needed, never a server error."""
    a, _b, users, _ = world
    browser, api = Client(), api_as(users["township_admin"])
    browser.force_login(users["township_admin"])
    record = SettlementRecord.objects.filter(setl_id=a.settlement_ids[0]).get()
    for url in [
        reverse("admin:staffing_doctor_change", args=[a.doctors[0].pk]),
        reverse("admin:staffing_doctor_history", args=[a.doctors[0].pk]),
        reverse("admin:clinics_facility_change", args=[a.clinic.pk]),
        reverse("admin:payroll_payslip_change", args=[a.payslip.pk]),
        reverse("admin:rosters_leaverequest_change", args=[a.leave.pk]),
        reverse("admin:telemedicine_consultbooking_change", args=[a.booking.pk]),
        reverse("admin:settlements_settlementrecord_change", args=[record.pk]),
    ]:
        assert browser.get(url).status_code == 200, url
    for url in [f"/api/v1/doctors/{a.doctors[0].pk}/", f"/api/v1/payroll/payslips/{a.payslip.pk}/",
                f"/api/v1/rosters/leave/{a.leave.pk}/", f"/api/v1/teleconsult/bookings/{a.booking.pk}/"]:
        assert api.get(url).status_code == 200, url


def test_admin_forms_offer_only_choices_in_reach(world):
    """Every admin "add" form A's township admin may open (found from the admin registry) offers
    no clinic, doctor or other row of township B among its choices."""
    a, b, users, _ = world
    browser = Client()
    browser.force_login(users["township_admin"])
    opened = 0
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        response = browser.get(url)
        assert response.status_code in (200, 302, 403), f"{url}: {response.status_code}"
        if response.status_code == 200:
            opened += 1
            assert not leaks(response_text(response), b.markers), url
    assert opened >= 2


def test_admin_autocomplete_choices_stay_in_reach(world):
    """Every autocomplete field of every admin (the choices of a form's search box), asked by A's
    township admin with an empty term and with B's names: nothing of B."""
    a, b, users, _ = world
    browser = Client()
    browser.force_login(users["township_admin"])
    asked = 0
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.get_autocomplete_fields(None) if hasattr(model_admin, "get_autocomplete_fields") else ():
            for term in ("", "乙", b.doctors[0].name):
                response = browser.get(
                    reverse("admin:autocomplete"),
                    {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field_name, "term": term},
                )
                asked += 1
                assert response.status_code in (200, 403), (model.__name__, field_name, response.status_code)
                assert not leaks(response_text(response), b.markers), (model.__name__, field_name, term)
    assert asked >= 10


def test_writes_on_the_other_townships_objects_are_refused(world):
    """Scoped writes: A's township admin can neither decide B's leave through the API nor through
    the admin's bulk action (a crafted request naming B's row), nor open B's booking in the API;
    B's objects are unchanged."""
    from staffing.rosters.models import DecisionStatus, LeaveRequest

    a, b, users, _ = world
    api = api_as(users["township_admin"])
    response = api.post(f"/api/v1/rosters/leave/{b.leave.pk}/decide/", {"approve": True, "note": "越权"}, format="json")
    assert response.status_code in (403, 404)
    assert api.get(f"/api/v1/rosters/leave/{b.leave.pk}/gaps/").status_code in (403, 404)

    browser = Client()
    browser.force_login(users["township_admin"])
    browser.post(reverse("admin:rosters_leaverequest_changelist"), {"action": "reject", "_selected_action": [b.leave.pk], "index": 0})
    assert LeaveRequest.objects.get(pk=b.leave.pk).status == DecisionStatus.PENDING

    doctor = api_as(users["village_doctor"])
    assert doctor.post(f"/api/v1/teleconsult/bookings/{b.booking.pk}/cancel/", {"reason": "越权"}, format="json").status_code in (403, 404)
    b.booking.refresh_from_db()
    assert b.booking.status == "requested"


def test_custom_admin_pages_follow_the_apps_access(world):
    """Imports, runs and reports an app adds to its admin: a role without access to the app gets
    403 (non-staff: the login), none answers 5xx, and nothing of B reaches A's township admin."""
    from tests.security.urls import admin_custom_pages

    a, b, users, _ = world
    pages = admin_custom_pages()
    assert len(pages) >= 5
    wrong = []
    for role in ROLES:
        browser = Client()
        browser.force_login(users[role])
        for page in pages:
            response = browser.get(page.path)
            family = ADMIN_MODEL_FAMILY.get(page.path, page.family)
            if response.status_code >= 500:
                wrong.append(f"{role} {page}: {response.status_code}")
            elif role not in ADMIN_RULES[family] and response.status_code not in (302, 403):
                wrong.append(f"{role} {page}: {response.status_code}, expected 403")
            if role not in COUNTY_WIDE and leaks(response_text(response), b.markers):
                wrong.append(f"{role} {page}: shows B")
    assert not wrong, "\n".join(wrong)


def test_only_the_county_changes_the_holiday_calendar(world):
    """The calendar rules every township's rosters: A's township admin reads it but cannot import,
    reload or edit it."""
    _a, _b, users, _ = world
    browser = Client()
    browser.force_login(users["township_admin"])
    assert browser.get(reverse("admin:rosters_calendaryear_changelist")).status_code == 200
    assert browser.get(reverse("admin:rosters_calendaryear_import")).status_code == 403
    assert browser.get(reverse("admin:rosters_holidayday_add")).status_code == 403
    county = Client()
    county.force_login(users["county_admin"])
    assert county.get(reverse("admin:rosters_calendaryear_import")).status_code == 200
