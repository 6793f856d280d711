import datetime
import logging

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from notifications import dispatch
from notifications.models import Channel, Notification
from notifications.services import notify
from notifications.tasks import dispatch_due_notifications_task
from tests.factories import FacilityFactory, UserFactory
from tests.notifications.conftest import doctor_login, make_due

pytestmark = pytest.mark.django_db
Status = Notification.Status


def test_due_rows_are_sent_once_and_future_rows_wait(fake_channels):
    user = UserFactory(email="")
    about = FacilityFactory()
    (now_row,) = notify(recipient=user, kind="consult_booked", about=about)
    (later,) = notify(
        recipient=user, kind="consult_reminder_24h", about=about, due_at=timezone.now() + datetime.timedelta(hours=2)
    )
    first = dispatch.dispatch_due()
    second = dispatch.dispatch_due()
    assert (first.sent, second.sent) == (1, 0)
    assert [sent[0] for sent in fake_channels] == [now_row.pk]
    now_row.refresh_from_db()
    later.refresh_from_db()
    assert now_row.status == Status.SENT and now_row.sent_at and now_row.claim_token is None
    assert later.status == Status.PENDING
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2, minutes=1)):
        assert dispatch.dispatch_due().sent == 1
    assert [sent[0] for sent in fake_channels] == [now_row.pk, later.pk]


def test_failures_back_off_exponentially_then_stay_failed(settings, no_kick):
    settings.NOTIFICATIONS_CHANNEL_BACKENDS = {"in_app": "tests.notifications.conftest.FailingBackend"}
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    (row,) = notify(recipient=UserFactory(email=""), kind="leave_decided", about=FacilityFactory())
    start = timezone.now()
    waits = []
    clock = start
    for _ in range(3):
        with time_machine.travel(clock, tick=False):
            dispatch.dispatch_due()
        row.refresh_from_db()
        waits.append(round((row.next_attempt_at - clock).total_seconds()))
        clock = row.next_attempt_at + datetime.timedelta(seconds=1)
    assert waits[:2] == [60, 120]
    assert row.status == Status.FAILED and row.attempts == 3
    assert row.last_error == "gateway down"
    with time_machine.travel(clock + datetime.timedelta(days=1)):
        assert dispatch.dispatch_due().claimed == 0


def test_permanent_error_fails_at_once(no_kick):
    (row,) = Notification.objects.filter(pk__in=[r.pk for r in make_due(UserFactory(), FacilityFactory(), 1, channel="email")])
    dispatch.dispatch_due()
    row.refresh_from_db()
    assert row.status == Status.FAILED and row.attempts == 1
    assert row.last_error == "no e-mail address"


def test_email_goes_through_djangos_backend(no_kick, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = UserFactory(email="doctor@example.cn")
    notify(recipient=user, kind="payslip_available", about=FacilityFactory(), context={"month": "2026年11月", "net_pay": "3210.50"})
    assert dispatch.dispatch_due().sent == 2
    (message,) = mail.outbox
    assert message.to == ["doctor@example.cn"]
    assert message.subject == "工资条已发放"
    assert "2026年11月" in message.body and "3210.50" in message.body


def test_expired_claim_of_a_dead_worker_is_taken_again(fake_channels):
    rows = make_due(UserFactory(), FacilityFactory(), 3)
    token, claimed = dispatch.claim_due(limit=10, lease_seconds=60)
    assert len(claimed) == 3
    assert dispatch.dispatch_due().claimed == 0  # still leased to the "dead" worker
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=61)):
        result = dispatch.dispatch_due()
    assert result.sent == 3
    assert sorted(s[0] for s in fake_channels) == sorted(r.pk for r in rows)
    # the dead worker's late outcome cannot overwrite the new one
    assert dispatch._record_failure(claimed[0], token, dispatch.ChannelError("late")) == ""
    assert Notification.objects.filter(status=Status.SENT).count() == 3


def test_worker_hands_back_rows_when_its_lease_runs_short(fake_channels):
    make_due(UserFactory(), FacilityFactory(), 4)
    token, rows = dispatch.claim_due(limit=10, lease_seconds=600)
    result = dispatch.send_claimed(token, rows, lease_end=timezone.now() + datetime.timedelta(seconds=5))
    assert (result.sent, result.released) == (0, 4)
    assert set(Notification.objects.values_list("status", "attempts")) == {(Status.PENDING, 0)}


def test_dispatch_task_sends_and_logs_masked_addresses(fake_channels, settings, caplog):
    settings.NOTIFICATIONS_CHANNEL_BACKENDS = {"in_app": "notifications.channels.InAppBackend"}
    settings.NOTIFICATIONS_SMS_BACKEND = "notifications.channels.ConsoleSMSBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = doctor_login(mobile="13912345678", email="zhang.san@example.cn")
    notify(recipient=user, kind="roster_published", about=FacilityFactory())
    with caplog.at_level(logging.INFO):
        summary = dispatch_due_notifications_task.apply().get()
    assert summary["sent"] == 3
    assert "139****5678" in caplog.text
    assert "13912345678" not in caplog.text and "zhang.san@example.cn" not in caplog.text


def test_in_app_row_reaches_the_inbox_only_when_sent(fake_channels):
    from notifications.selectors import inbox_list

    user = UserFactory(email="")
    notify(recipient=user, kind="consult_reminder_30m", about=FacilityFactory(), due_at=timezone.now() + datetime.timedelta(minutes=5))
    assert inbox_list(user=user).count() == 0
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=6)):
        dispatch.dispatch_due()
    assert inbox_list(user=user).get().channel == Channel.IN_APP


@given(attempts=st.integers(min_value=1, max_value=40))
def test_backoff_doubles_and_is_capped(attempts):
    from django.conf import settings

    base, cap = settings.NOTIFICATIONS_RETRY_BASE_SECONDS, 6 * 3600
    wait = dispatch.backoff_seconds(attempts)
    assert base <= wait <= cap
    assert dispatch.backoff_seconds(attempts + 1) in (min(cap, wait * 2), cap)


def test_lease_margin_covers_a_slow_sms_gateway(settings):
    settings.SMS_GATEWAY_TIMEOUT = 30
    assert dispatch.lease_margin_seconds() == 35
