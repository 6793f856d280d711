"""A one-time password (a new doctor login, a reset) leads every page to "set your own password"
until the user has; Django's password validators apply; the change is audited."""

import pytest
from django.urls import reverse

from clinics.models import UserScope
from core.models import AuditEntry
from staffing.services.logins import doctor_login_create, doctor_login_reset_password
from tests.factories import DoctorFactory, PostingFactory

pytestmark = pytest.mark.django_db

GOOD = "Leye-village-2026"


def _doctor_with_login(county_admin):
    doctor = PostingFactory(doctor=DoctorFactory(mobile="13800779999")).doctor
    user, password = doctor_login_create(doctor=doctor, acting_user=county_admin)
    return doctor, user, password


def test_first_phone_login_must_set_a_password_then_reaches_home(client, county_admin):
    doctor, user, password = _doctor_with_login(county_admin)
    assert UserScope.objects.get(user=user).must_change_password
    signed_in = client.post(reverse("portal:login"), {"username": user.username, "password": password})
    assert signed_in.status_code == 302
    home = client.get(reverse("portal:home"))
    assert home.status_code == 302 and home.url == reverse("portal:password_set")
    other = client.get(reverse("portal:home") + "duty/")
    assert other.status_code == 302 and other.url.startswith(reverse("portal:password_set") + "?next=")
    page = client.get(reverse("portal:password_set"))
    assert "设置您自己的密码" in page.content.decode()

    weak = client.post(reverse("portal:password_set"), {"new_password1": "1234567890", "new_password2": "1234567890"})
    assert weak.status_code == 200 and "errorlist" in weak.content.decode()
    assert UserScope.objects.get(user=user).must_change_password

    done = client.post(reverse("portal:password_set"), {"new_password1": GOOD, "new_password2": GOOD})
    assert done.status_code == 302 and done.url == reverse("portal:home")
    user.refresh_from_db()
    assert user.check_password(GOOD) and not user.check_password(password)
    assert not UserScope.objects.get(user=user).must_change_password
    assert client.get(reverse("portal:home")).status_code == 200  # still signed in after the change
    entry = AuditEntry.objects.get(action="user.password_set")
    assert GOOD not in str(entry.changes) and entry.changes["must_change_password"] == [True, False]


def test_admin_pages_lead_to_it_too_and_a_reset_requires_it_again(client, county_admin):
    doctor, user, password = _doctor_with_login(county_admin)
    client.force_login(user)
    admin = client.get(reverse("admin:index"))
    assert admin.status_code == 302 and admin.url == reverse("portal:password_set")
    client.post(reverse("portal:password_set"), {"new_password1": GOOD, "new_password2": GOOD})
    assert not UserScope.objects.get(user=user).must_change_password
    doctor_login_reset_password(doctor=doctor, acting_user=county_admin)
    assert UserScope.objects.get(user=user).must_change_password
    user.refresh_from_db()
    client.force_login(user)
    assert client.get(reverse("portal:home")).url == reverse("portal:password_set")


def test_a_user_without_a_one_time_password_is_not_sent_there(client, county_admin):
    client.force_login(county_admin)
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_change_without_a_one_time_password_asks_for_the_current_one(client, county_admin):
    county_admin.set_password("a-long-test-password-1")
    county_admin.save()
    client.force_login(county_admin)
    url = reverse("portal:password_set")
    new = {"new_password1": "Another-long-pass-77", "new_password2": "Another-long-pass-77"}
    refused = client.post(url, new)
    assert refused.status_code == 200 and "old_password" in refused.context["form"].errors
    county_admin.refresh_from_db()
    assert county_admin.check_password("a-long-test-password-1")
    client.post(url, {**new, "old_password": "a-long-test-password-1"})
    county_admin.refresh_from_db()
    assert county_admin.check_password("Another-long-pass-77")
