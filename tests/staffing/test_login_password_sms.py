"""A doctor's one-time password sent by SMS to the register's mobile instead of being shown: only
an SMS row (no inbox copy), the outbox and the logs never show the password, the stored text is
masked once the message is sent, failed for good or cancelled, and the audit names only the masked
mobile. Reach is checked as for showing it."""

import logging

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse

from clinics.models import Role
from core.models import AuditEntry
from notifications import dispatch
from notifications.models import Channel, Kind, Notification
from notifications.registry import ChannelError
from notifications.services import cancel_pending_rows, notification_retry
from staffing.services.logins import doctor_login_create, doctor_login_reset_password
from tests.factories import DoctorFactory, FacilityFactory, PostingFactory, TownshipFactory, make_user
from tests.staffing.test_accounts_logins import signs_in

pytestmark = pytest.mark.django_db

MOBILE = "13800771234"


class CapturingSMS:
    sent: list = []

    def send(self, notification):
        CapturingSMS.sent.append((notification.address, notification.body))


class RefusingSMS:
    def send(self, notification):
        raise ChannelError("number rejected", permanent=True)


def doctor_with_posting(**kwargs):
    return PostingFactory(doctor=DoctorFactory(mobile=MOBILE, **kwargs)).doctor


def the_sms():
    return Notification.objects.get(kind=Kind.LOGIN_PASSWORD)


def password_in_sms(text: str) -> str:
    return text.split("一次性密码：", 1)[1].split("。", 1)[0]


@override_settings(NOTIFICATIONS_CHANNEL_BACKENDS={"sms": "tests.staffing.test_login_password_sms.CapturingSMS"})
def test_create_by_sms_sends_the_real_password_once_and_keeps_it_masked(county_admin, caplog):
    CapturingSMS.sent = []
    doctor = doctor_with_posting()
    user, shown = doctor_login_create(doctor=doctor, acting_user=county_admin, send_sms=True)
    assert shown is None  # not returned, so no page can show it
    rows = Notification.objects.filter(recipient=user)
    assert [r.channel for r in rows] == [Channel.SMS]  # no inbox or e-mail copy
    row = the_sms()
    assert row.address == MOBILE and row.status == Notification.Status.PENDING
    assert "******" in row.shown_body and "******" not in row.body  # the outbox shows the masked text meanwhile
    with caplog.at_level(logging.INFO):
        result = dispatch.dispatch_due()
    assert result.sent == 1
    [(address, text)] = CapturingSMS.sent
    password = password_in_sms(text)
    assert address == MOBILE and len(password) == 10 and user.check_password(password)
    assert signs_in(MOBILE, password) == user
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT
    assert password not in row.body and password not in row.subject and "一次性密码：******" in row.body
    assert password not in caplog.text
    entry = AuditEntry.objects.get(action="doctor.login_create")
    assert password not in str(entry.changes) and entry.changes["password_sent_by_sms_to"] == "138****1234"


def test_the_console_backend_logs_the_masked_text(county_admin, caplog):
    doctor = doctor_with_posting()
    doctor_login_create(doctor=doctor, acting_user=county_admin, send_sms=True)
    pending = the_sms().body
    with caplog.at_level(logging.INFO, logger="notifications.channels"):
        dispatch.dispatch_due()
    assert "138****1234" in caplog.text and "******" in caplog.text
    assert password_in_sms(pending) not in caplog.text


@override_settings(NOTIFICATIONS_CHANNEL_BACKENDS={"sms": "tests.staffing.test_login_password_sms.RefusingSMS"})
def test_a_failed_sms_is_masked_and_cannot_be_retried(county_admin):
    doctor = doctor_with_posting()
    doctor_login_create(doctor=doctor, acting_user=county_admin, send_sms=True)
    password = password_in_sms(the_sms().body)
    dispatch.dispatch_due()
    row = the_sms()
    assert row.status == Notification.Status.FAILED and password not in row.body
    assert notification_retry(ids=[row.pk], acting_user=county_admin) == 0  # a new password is needed instead


def test_a_cancelled_sms_is_masked(county_admin, settings):
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = False
    doctor = doctor_with_posting()
    doctor_login_create(doctor=doctor, acting_user=county_admin, send_sms=True)
    password = password_in_sms(the_sms().body)
    assert cancel_pending_rows(ids=[the_sms().pk], acting_user=county_admin) == 1
    assert password not in the_sms().body


@override_settings(NOTIFICATIONS_CHANNEL_BACKENDS={"sms": "tests.staffing.test_login_password_sms.CapturingSMS"})
def test_reset_by_sms_makes_a_new_message_and_the_old_password_stops(county_admin):
    CapturingSMS.sent = []
    doctor = doctor_with_posting()
    _user, first = doctor_login_create(doctor=doctor, acting_user=county_admin)
    assert doctor_login_reset_password(doctor=doctor, acting_user=county_admin, send_sms=True) is None
    assert doctor_login_reset_password(doctor=doctor, acting_user=county_admin, send_sms=True) is None
    dispatch.dispatch_due()
    assert len(CapturingSMS.sent) == 2  # each reset is its own message
    latest = password_in_sms(CapturingSMS.sent[-1][1])
    assert signs_in(MOBILE, first) is None and signs_in(MOBILE, latest) is not None
    assert not any(latest in r.body or first in r.body for r in Notification.objects.all())
    assert AuditEntry.objects.filter(action="doctor.login_reset", changes__password_sent_by_sms_to="138****1234").count() == 2


def test_out_of_reach_admin_sends_nothing(roles):
    doctor = PostingFactory(doctor=DoctorFactory(mobile=MOBILE), facility=FacilityFactory(township=TownshipFactory())).doctor
    admin = make_user(Role.TOWNSHIP_ADMIN, township=TownshipFactory())
    with pytest.raises(ValidationError):
        doctor_login_create(doctor=doctor, acting_user=admin, send_sms=True)
    assert not Notification.objects.exists()


def test_doctor_page_offers_the_sms_and_the_result_page_shows_no_password(client, county_admin):
    doctor = doctor_with_posting()
    client.force_login(county_admin)
    page = client.get(reverse("admin:staffing_doctor_change", args=[doctor.pk])).content.decode()
    assert 'id="login-send-sms"' in page and "138****1234" in page
    response = client.post(reverse("admin:staffing_doctor_login", args=[doctor.pk]), {"action": "create", "send_sms": "1"})
    text = response.content.decode()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert 'id="login-sms-sent"' in text and 'id="login-password"' not in text and "138****1234" in text
    assert password_in_sms(the_sms().body) not in text
    outbox = client.get(reverse("admin:notifications_notification_change", args=[the_sms().pk])).content.decode()
    assert password_in_sms(the_sms().body) not in outbox and "******" in outbox
