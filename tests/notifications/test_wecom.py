"""企业微信 (WeChat Work) application messages against a local fake of its HTTP API: the token is
fetched once and shared, renewed when the API says it expired, rate limits and busy answers are
retried by the outbox, refusals fail with their code, and no message is ever sent twice."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import dispatch
from notifications.models import Channel, ChannelPreference, Notification
from notifications.services import notification_retry, notify
from tests.factories import DoctorFactory, FacilityFactory
from tests.notifications.conftest import doctor_login

pytestmark = pytest.mark.django_db
Status = Notification.Status


def wecom_row(user, about=None, kind="roster_published", **context):
    rows = notify(recipient=user, kind=kind, about=about or FacilityFactory(), context={"month": "2026年12月", **context})
    return next(row for row in rows if row.channel == Channel.WECOM)


def test_a_doctor_with_a_user_id_gets_a_wecom_row_and_n_messages_cost_one_token(fake_wecom):
    users = [doctor_login(mobile=f"1390000000{i}", wecom_userid=f"WeiDoc{i}") for i in range(5)]
    rows = [wecom_row(user) for user in users]
    assert [row.address for row in rows] == [f"WeiDoc{i}" for i in range(5)]

    result = dispatch.dispatch_due()

    assert result.failed == 0 and len(fake_wecom.delivered) == 5
    assert fake_wecom.token_fetches == 1
    first = fake_wecom.delivered[0]
    assert first["touser"] == "WeiDoc0" and first["agentid"] == 1000002
    assert first["content"].startswith("排班表已发布\n") and "2026年12月" in first["content"]
    sent = {row.address: row for row in Notification.objects.filter(channel=Channel.WECOM)}
    assert {row.status for row in sent.values()} == {Status.SENT}
    assert sent["WeiDoc0"].external_id == first["msgid"]  # the API's msgid is kept on the row
    assert sent["WeiDoc0"].handed_over_at is not None


def test_an_expired_token_is_dropped_renewed_and_the_message_sent_once(fake_wecom):
    user = doctor_login(wecom_userid="wei_a")
    wecom_row(user)
    dispatch.dispatch_due()
    fake_wecom.expire_tokens()  # 42001 for the cached token from now on

    second = wecom_row(user, about=FacilityFactory())
    dispatch.dispatch_due()

    second.refresh_from_db()
    assert second.status == Status.SENT and second.attempts == 1
    assert fake_wecom.token_fetches == 2
    assert [m["token"] for m in fake_wecom.delivered] == ["token-1", "token-2"]
    assert fake_wecom.send_calls == 3  # one refused with 42001, resent once with the new token
    wecom_row(user, about=FacilityFactory())
    dispatch.dispatch_due()
    assert fake_wecom.token_fetches == 2  # the renewed token is the cached one now


@pytest.mark.parametrize("code", [45009, -1])
def test_rate_limit_and_busy_answers_are_retried_by_the_outbox_then_sent(fake_wecom, code):
    row = wecom_row(doctor_login(wecom_userid="wei_b"))
    fake_wecom.next_codes = [code]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        dispatch.dispatch_due()
    row.refresh_from_db()
    assert row.status == Status.PENDING and row.attempts == 1
    assert f"errcode {code}" in row.last_error
    assert row.next_attempt_at == start + datetime.timedelta(seconds=60)  # the outbox's backoff
    assert row.handed_over_at is None  # refused: nothing went out
    with time_machine.travel(row.next_attempt_at + datetime.timedelta(seconds=1)):
        assert dispatch.dispatch_due().sent == 1
    row.refresh_from_db()
    assert row.status == Status.SENT and len(fake_wecom.delivered) == 1


@pytest.mark.parametrize("code", [81013, 60020, 40056, 301002])
def test_refusals_for_the_user_or_the_app_fail_for_good_with_their_code(fake_wecom, code):
    row = wecom_row(doctor_login(wecom_userid="wei_c"))
    fake_wecom.next_codes = [code]
    assert dispatch.dispatch_due().failed == 1
    row.refresh_from_db()
    assert row.status == Status.FAILED and row.attempts == 1
    assert f"errcode {code}" in row.last_error and "wei_c" not in row.last_error  # the user id is masked
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1)):
        assert dispatch.dispatch_due().claimed == 0
    assert fake_wecom.delivered == []


def test_a_user_listed_as_invaliduser_in_an_ok_answer_fails_for_good(fake_wecom):
    row = wecom_row(doctor_login(wecom_userid="left_the_corp"))
    fake_wecom.invalid_users = {"left_the_corp"}
    dispatch.dispatch_due()
    row.refresh_from_db()
    assert row.status == Status.FAILED and "invaliduser" in row.last_error


def test_a_wrong_secret_fails_for_good_and_5xx_or_an_unreachable_api_are_retried(fake_wecom, settings):
    settings.WECOM_SECRET = "not-the-secret"
    wrong = wecom_row(doctor_login(wecom_userid="wei_d"))
    dispatch.dispatch_due()
    wrong.refresh_from_db()
    assert wrong.status == Status.FAILED and "errcode 40001" in wrong.last_error and "not-the-secret" not in wrong.last_error

    settings.WECOM_SECRET = fake_wecom.secret
    fake_wecom.http_status = 503
    unavailable = wecom_row(doctor_login(wecom_userid="wei_e"))
    dispatch.dispatch_due()
    unavailable.refresh_from_db()
    assert unavailable.status == Status.PENDING and "HTTP 503" in unavailable.last_error

    settings.WECOM_API_BASE = "http://127.0.0.1:9"  # nothing listens
    settings.WECOM_SECRET = "another-secret"  # no token cached for it
    unreachable = wecom_row(doctor_login(wecom_userid="wei_f"))
    dispatch.dispatch_due()
    unreachable.refresh_from_db()
    assert unreachable.status == Status.PENDING and "unreachable" in unreachable.last_error
    assert fake_wecom.delivered == []


def test_a_message_taken_whose_answer_was_lost_is_not_sent_again(fake_wecom):
    """The API took the message and the connection dropped before its answer: it may have arrived,
    so the outbox fails it for an admin instead of sending it a second time."""
    row = wecom_row(doctor_login(wecom_userid="wei_g"))
    fake_wecom.drop_after_taking = True
    dispatch.dispatch_due()
    row.refresh_from_db()
    assert row.status == Status.FAILED and "may have arrived" in row.last_error
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=7)):
        assert dispatch.dispatch_due().claimed == 0
    assert len(fake_wecom.delivered) == 1

    # An admin who checked with the doctor may send it again.
    fake_wecom.drop_after_taking = False
    assert notification_retry(ids=[row.pk], acting_user=None) == 1
    dispatch.dispatch_due()
    row.refresh_from_db()
    assert row.status == Status.SENT and len(fake_wecom.delivered) == 2


def test_a_claim_finding_a_row_handed_over_by_a_dead_worker_does_not_send_it(fake_wecom):
    row = wecom_row(doctor_login(wecom_userid="wei_h"))
    token, claimed = dispatch.claim_due(limit=10, lease_seconds=60)
    (handed,) = [r for r in claimed if r.pk == row.pk]
    assert dispatch._hand_over(handed, token)  # ...and the worker died here, before or after sending
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=61)):
        result = dispatch.dispatch_due()
    assert (result.claimed, result.sent, result.failed) == (3, 2, 1)  # the inbox and SMS rows go out, not this one
    row.refresh_from_db()
    assert row.status == Status.FAILED and "not sent again automatically" in row.last_error
    assert fake_wecom.delivered == []


def test_no_rows_while_the_channel_is_not_configured_or_switched_off(settings, fake_wecom):
    user = doctor_login(wecom_userid="wei_i")
    ChannelPreference.objects.create(user=user, channel=Channel.WECOM, enabled=False)
    assert Channel.WECOM not in {r.channel for r in notify(recipient=user, kind="roster_published", about=FacilityFactory())}
    settings.WECOM_CORP_ID = ""
    other = doctor_login(wecom_userid="wei_j")
    assert Channel.WECOM not in {r.channel for r in notify(recipient=other, kind="roster_published", about=FacilityFactory())}
    nobody = doctor_login(wecom_userid="")
    settings.WECOM_CORP_ID = fake_wecom.corp_id
    assert Channel.WECOM not in {r.channel for r in notify(recipient=nobody, kind="roster_published", about=FacilityFactory())}


def test_the_lease_keeps_two_token_fetches_and_two_sends_in_hand(settings, fake_wecom):
    settings.WECOM_TIMEOUT = 10
    settings.SMS_GATEWAY_TIMEOUT = 10
    assert dispatch.lease_margin_seconds() == 45
    settings.WECOM_CORP_ID = ""
    assert dispatch.lease_margin_seconds() == 15


def test_the_register_holds_a_valid_unique_wecom_user_id():
    doctor = DoctorFactory(wecom_userid="Wei.Xiaolan-01")
    doctor.full_clean()
    doctor.wecom_userid = "-starts-with-a-dash"
    with pytest.raises(ValidationError) as bad:
        doctor.full_clean()
    assert "wecom_userid" in bad.value.error_dict
    twin = DoctorFactory.build(wecom_userid="wei.xiaolan-01")  # WeChat Work ignores case
    with pytest.raises(ValidationError) as taken:
        twin.full_clean()
    assert "企业微信" in str(taken.value) or "WeChat Work" in str(taken.value)
    DoctorFactory(wecom_userid="")
    DoctorFactory(wecom_userid="")  # blank twice is fine
