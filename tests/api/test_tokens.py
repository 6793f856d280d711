"""Terminals' API tokens (django-rest-knox, `core.tokens`, `clinics.api_tokens`): issued by a
county-wide admin on the admin page and shown once, stored only as a digest, expiring, accepted
after "Bearer" and "Token", revoked and rotated (with a grace period), audited; the plain-text
tokens of rest_framework.authtoken are moved so terminals keep working."""

import datetime
import importlib
import io
import re
import types

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from clinics.api_tokens import api_token_issue
from clinics.models import Role
from core.models import ApiTokenUse, AuditEntry
from core.tokens import USE_RECORD_INTERVAL, api_token_create, api_tokens_purge
from tests.factories import FacilityFactory, make_user

pytestmark = pytest.mark.django_db
PAGE = "/admin/clinics/userscope/api-tokens/"
API = "/api/v1/townships/"


@pytest.fixture
def terminal(roles):
    return make_user(Role.API_CLIENT, facility=FacilityFactory(), username="pos_tokens")


@pytest.fixture
def county_browser(roles):
    browser = Client()
    browser.force_login(make_user(Role.COUNTY_ADMIN, username="county_tokens"))
    return browser


def issued_token(response) -> str:
    match = re.search(r'id="token-value" type="text" readonly value="([^"]+)"', response.content.decode())
    assert match, "the answer to the issue shows the token"
    return match.group(1)


def call(token: str, keyword: str = "Bearer", path: str = API):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"{keyword} {token}")
    return api.get(path)


def test_a_token_issued_on_the_admin_page_is_shown_once_and_stored_only_as_a_digest(county_browser, terminal):
    response = county_browser.post(PAGE, {"action": "issue", "user": terminal.pk, "days": "30", "reason": "新终端"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    plain = issued_token(response)
    assert plain.startswith("cunyi_") and len(plain) == len("cunyi_") + 64

    row = AuthToken.objects.get(user=terminal)
    assert row.digest == hash_token(plain) and row.token_key == plain[:15]
    assert timezone.now() + datetime.timedelta(days=29) < row.expiry <= timezone.now() + datetime.timedelta(days=30)
    with connection.cursor() as cursor:  # nowhere in the table is the token itself
        cursor.execute("SELECT digest, token_key FROM knox_authtoken")
        assert all(plain not in value for values in cursor.fetchall() for value in values)

    listing = county_browser.get(PAGE).content.decode()
    assert plain not in listing and row.token_key in listing and "pos_tokens" in listing
    assert plain[15:] not in listing

    entry = AuditEntry.objects.get(action="api_token.issue")
    assert entry.object_id == str(terminal.pk) and entry.changes["token"] == row.token_key
    assert entry.actor.username == "county_tokens" and entry.reason == "新终端"
    assert plain not in str(entry.changes)


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer", "token"])
def test_bearer_and_token_are_both_accepted(county_admin, keyword):
    _row, plain = api_token_create(user=county_admin)
    assert call(plain, keyword).status_code == 200


def test_an_expired_token_is_refused_with_401_and_www_authenticate(county_admin):
    _row, plain = api_token_create(user=county_admin, expiry=timezone.now() + datetime.timedelta(days=2))
    assert call(plain).status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(days=2, seconds=1), tick=False):
        refused = call(plain)
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_expired"
    assert refused["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer " + "0" * 70, "Token cunyi_" + "0" * 64])
def test_a_wrong_or_malformed_token_is_401(roles, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get(API)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_an_inactive_users_token_is_refused(county_admin):
    _row, plain = api_token_create(user=county_admin)
    county_admin.is_active = False
    county_admin.save(update_fields=["is_active"])
    assert call(plain).status_code == 401


def test_revoke_refuses_the_token_at_once_and_is_audited(county_browser, terminal, county_admin):
    row, plain = api_token_create(user=terminal)
    settlements = "/api/v1/settlements/"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.post(settlements, [], format="json").status_code == 201
    response = county_browser.post(PAGE, {"action": "revoke", "token": row.digest})
    assert response.status_code == 302
    assert api.post(settlements, [], format="json").status_code == 401
    assert not AuthToken.objects.filter(user=terminal).exists()
    assert AuditEntry.objects.filter(action="api_token.revoke", object_id=str(terminal.pk)).count() == 1


def test_rotate_gives_a_new_token_and_the_old_one_works_for_the_grace_period_only(county_browser, terminal):
    old, old_plain = api_token_create(user=terminal)
    response = county_browser.post(PAGE, {"action": "rotate", "token": old.digest, "days": "90", "grace_hours": "2"})
    assert response.status_code == 200
    new_plain = issued_token(response)
    assert new_plain != old_plain
    upload = "/api/v1/settlements/"
    for plain in (old_plain, new_plain):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        assert api.post(upload, [], format="json").status_code == 201
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2, minutes=1), tick=False):
        results = {}
        for name, plain in (("old", old_plain), ("new", new_plain)):
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
            results[name] = api.post(upload, [], format="json").status_code
    assert results == {"old": 401, "new": 201}
    entry = AuditEntry.objects.get(action="api_token.rotate")
    assert entry.changes["replaces"] == old.token_key and entry.changes["token"] == new_plain[:15]


def test_rotate_without_grace_revokes_the_old_token_at_once(county_browser, terminal):
    old, old_plain = api_token_create(user=terminal)
    response = county_browser.post(PAGE, {"action": "rotate", "token": old.digest, "days": "90", "grace_hours": "0"})
    new_plain = issued_token(response)
    assert AuthToken.objects.filter(user=terminal).count() == 1
    assert AuthToken.objects.get(user=terminal).digest == hash_token(new_plain)


def test_a_township_admin_cannot_see_or_issue_tokens(roles, terminal):
    browser = Client()
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=terminal.scope.facility.township)
    browser.force_login(township_admin)
    assert browser.get(PAGE).status_code == 403
    assert browser.post(PAGE, {"action": "issue", "user": terminal.pk, "days": "30"}).status_code == 403
    assert not AuthToken.objects.exists()
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        api_token_issue(user_id=terminal.pk, days=30, acting_user=township_admin)


@pytest.mark.parametrize("days", ["0", "-1", "731", "abc", ""])
def test_out_of_range_days_are_refused_and_nothing_is_issued(county_browser, terminal, days):
    response = county_browser.post(PAGE, {"action": "issue", "user": terminal.pk, "days": days})
    assert response.status_code == 400 and 'id="token-value"' not in response.content.decode()
    assert not AuthToken.objects.exists()


def test_only_terminal_accounts_get_tokens(county_browser, roles):
    staff = make_user(Role.INSURANCE_CLERK)
    response = county_browser.post(PAGE, {"action": "issue", "user": staff.pk, "days": "30"})
    assert response.status_code == 400 and not AuthToken.objects.exists()


def test_the_last_use_is_recorded_at_most_once_per_interval(terminal):
    row, plain = api_token_create(user=terminal)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    api.post("/api/v1/settlements/", [], format="json")
    first = ApiTokenUse.objects.get(token=row).last_used_at
    api.post("/api/v1/settlements/", [], format="json")
    assert ApiTokenUse.objects.get(token=row).last_used_at == first
    with time_machine.travel(timezone.now() + USE_RECORD_INTERVAL + datetime.timedelta(seconds=1), tick=False):
        api.post("/api/v1/settlements/", [], format="json")
        assert ApiTokenUse.objects.get(token=row).last_used_at > first


def test_expired_tokens_are_purged_after_the_retention(terminal, settings):
    settings.RETENTION_API_TOKENS_DAYS = 30
    api_token_create(user=terminal, expiry=timezone.now() - datetime.timedelta(days=31))
    api_token_create(user=terminal, expiry=timezone.now() - datetime.timedelta(days=1))
    assert api_tokens_purge() == 1
    assert AuthToken.objects.filter(user=terminal).count() == 1


def test_the_management_command_prints_a_working_token_once(terminal):
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_api_token", terminal.username, "--days", "10", stdout=out, stderr=err)
    plain = out.getvalue().strip()
    assert AuthToken.objects.get(user=terminal).digest == hash_token(plain)
    assert plain not in err.getvalue()
    rotated = io.StringIO()
    call_command("issue_api_token", terminal.username, "--rotate", "--grace-hours", "0", stdout=rotated, stderr=io.StringIO())
    assert list(AuthToken.objects.filter(user=terminal).values_list("digest", flat=True)) == [hash_token(rotated.getvalue().strip())]


def test_drf_authtoken_keys_are_moved_hashed_and_keep_working(county_admin):
    """Core's migration 0005 on a database that still has rest_framework.authtoken's table."""
    migration = importlib.import_module("core.migrations.0005_api_tokens_from_authtoken")
    old_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    with connection.cursor() as cursor:
        cursor.execute('CREATE TABLE authtoken_token ("key" varchar(40) PRIMARY KEY, user_id integer, created timestamp)')
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [old_key, county_admin.pk, "2025-01-02 03:04:05"])
    from django.apps import apps

    # What the function uses of the schema editor (SQLite's cannot open inside the test's transaction).
    editor = types.SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)
    migration.move_tokens(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    row = AuthToken.objects.get(user=county_admin)
    assert row.digest == hash_token(old_key) and row.created.year == 2025 and row.expiry > timezone.now()
    assert call(old_key, "Token").status_code == 200
