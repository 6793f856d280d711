"""The doctor's phone login created, reset and deactivated by an admin in reach, audited."""

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from clinics.models import Role, UserScope
from core.models import AuditEntry
from staffing.services.logins import (
    doctor_login_create,
    doctor_login_reset_password,
    doctor_login_set_active,
)
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory, TownshipFactory, make_user

pytestmark = pytest.mark.django_db


def signs_in(username, password):
    """Sign in as the login page does (django-axes wants the request)."""
    return authenticate(RequestFactory().post("/m/login/"), username=username, password=password)


def test_create_login_gives_a_village_doctor_scope_and_a_one_time_password(county_admin):
    posting = PostingFactory(doctor=DoctorFactory(mobile="13800771234"))
    doctor = posting.doctor
    user, password = doctor_login_create(doctor=doctor, acting_user=county_admin)
    doctor.refresh_from_db()
    assert doctor.user == user and user.username == "13800771234"
    assert password not in user.password and user.check_password(password)
    scope = UserScope.objects.get(user=user)
    assert scope.role == Role.VILLAGE_DOCTOR and scope.facility == posting.facility
    assert signs_in("13800771234", password) == user
    entry = AuditEntry.objects.get(action="doctor.login_create")
    assert password not in str(entry.changes)
    with pytest.raises(ValidationError):
        doctor_login_create(doctor=doctor, acting_user=county_admin)


def test_username_is_unique(county_admin):
    first = PostingFactory(doctor=DoctorFactory(mobile="13800770000")).doctor
    second = PostingFactory(doctor=DoctorFactory(mobile="13800770000")).doctor
    a, _ = doctor_login_create(doctor=first, acting_user=county_admin)
    b, _ = doctor_login_create(doctor=second, acting_user=county_admin)
    assert (a.username, b.username) == ("13800770000", "13800770000-2")


def test_township_admin_outside_reach_is_refused(roles):
    other = TownshipFactory()
    doctor = PostingFactory(facility=FacilityFactory(township=TownshipFactory())).doctor
    admin = make_user(Role.TOWNSHIP_ADMIN, township=other)
    with pytest.raises(ValidationError):
        doctor_login_create(doctor=doctor, acting_user=admin)
    doctor.refresh_from_db()
    assert doctor.user_id is None


def test_township_admin_in_reach_creates(roles):
    township = TownshipFactory()
    doctor = PostingFactory(facility=FacilityFactory(township=township)).doctor
    admin = make_user(Role.TOWNSHIP_ADMIN, township=township)
    user, _ = doctor_login_create(doctor=doctor, acting_user=admin)
    assert user.is_active


def test_reset_and_deactivate(county_admin):
    doctor = PostingFactory().doctor
    user, first = doctor_login_create(doctor=doctor, acting_user=county_admin)
    second = doctor_login_reset_password(doctor=doctor, acting_user=county_admin)
    user.refresh_from_db()
    assert second != first and user.check_password(second) and not user.check_password(first)
    doctor_login_set_active(doctor=doctor, active=False, acting_user=county_admin)
    assert signs_in(user.username, second) is None
    doctor_login_set_active(doctor=doctor, active=True, acting_user=county_admin)
    assert signs_in(user.username, second) == user
    actions = list(AuditEntry.objects.filter(action__startswith="doctor.login_").values_list("action", flat=True))
    assert {"doctor.login_create", "doctor.login_reset", "doctor.login_deactivate", "doctor.login_activate"} <= set(actions)


def test_admin_creates_then_resets_and_shows_the_password_once(client, county_admin):
    from django.urls import reverse

    from staffing.models import Doctor

    doctor = PostingFactory(doctor=DoctorFactory(mobile="13800775555")).doctor
    client.force_login(county_admin)
    page = client.get(reverse("admin:staffing_doctor_change", args=[doctor.pk])).content.decode()
    assert "创建手机端登录账号" in page
    url = reverse("admin:staffing_doctor_login", args=[doctor.pk])
    created = client.post(url, {"action": "create"})
    text = created.content.decode()
    assert created.status_code == 200 and "此密码只显示这一次" in text and "13800775555" in text
    password = text.split('id="login-password">')[1].split("<")[0]
    user = Doctor.objects.get(pk=doctor.pk).user
    assert user.check_password(password)
    assert password not in client.get(reverse("admin:staffing_doctor_change", args=[doctor.pk])).content.decode()
    reset = client.post(url, {"action": "reset"}).content.decode()
    new = reset.split('id="login-password">')[1].split("<")[0]
    user.refresh_from_db()
    assert new != password and user.check_password(new)
    assert client.post(url, {"action": "deactivate"}).status_code == 302
    user.refresh_from_db()
    assert not user.is_active
