import pytest

from notifications import dispatch
from notifications.channels import ChannelError, HttpGatewaySMSBackend, mask_email
from notifications.models import Notification
from notifications.services import notify
from tests.factories import FacilityFactory
from tests.notifications.conftest import doctor_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway_settings(settings, fake_gateway, no_kick):
    settings.NOTIFICATIONS_SMS_BACKEND = "notifications.channels.HttpGatewaySMSBackend"
    settings.SMS_GATEWAY_URL = fake_gateway.url
    settings.SMS_GATEWAY_KEY = "test-key-123"
    settings.SMS_GATEWAY_TEMPLATE_ID = "SMS_880001"
    settings.SMS_GATEWAY_TIMEOUT = 2
    return fake_gateway


def _sms(user, about, **context):
    rows = notify(recipient=user, kind="consult_confirmed", about=about, context=context)
    return next(r for r in rows if r.channel == "sms")


def test_http_gateway_receives_template_key_and_text(gateway_settings):
    row = _sms(doctor_login(mobile="13712345678"), FacilityFactory(), start="12月3日 10:00", consultant_name="黄主任")
    result = dispatch.dispatch_due()
    assert result.sent == 2
    (request,) = gateway_settings.requests
    assert request["path"] == "/sms/send"
    assert request["headers"]["Authorization"] == "Bearer test-key-123"
    assert request["json"]["mobile"] == "13712345678"
    assert request["json"]["template_id"] == "SMS_880001"
    assert request["json"]["out_id"] == f"cunyi-{row.pk}"
    assert "黄主任" in request["json"]["params"]["content"]


def test_gateway_refusal_is_retried_with_the_masked_number_in_the_error(gateway_settings):
    gateway_settings.answer = {"code": "isv.BUSINESS_LIMIT_CONTROL", "message": "触发流控"}
    row = _sms(doctor_login(mobile="13712345678"), FacilityFactory())
    dispatch.dispatch_due()
    row.refresh_from_db()
    assert row.status == Notification.Status.PENDING and row.attempts == 1
    assert "137****5678" in row.last_error and "13712345678" not in row.last_error


def test_gateway_4xx_is_permanent_and_5xx_is_retried(gateway_settings):
    backend = HttpGatewaySMSBackend()
    row = Notification(pk=7, address="13712345678", body="测试")
    gateway_settings.status = 400
    with pytest.raises(ChannelError) as bad_request:
        backend.send(row)
    assert bad_request.value.permanent
    gateway_settings.status = 503
    with pytest.raises(ChannelError) as unavailable:
        backend.send(row)
    assert not unavailable.value.permanent


def test_gateway_unreachable_is_retried():
    backend = HttpGatewaySMSBackend(url="http://127.0.0.1:9/closed", key="k", template_id="t", timeout=1)
    with pytest.raises(ChannelError) as error:
        backend.send(Notification(pk=1, address="13712345678", body="x"))
    assert not error.value.permanent and "137****5678" in str(error.value)


def test_mask_email_keeps_only_the_first_letter():
    assert mask_email("zhang.san@example.cn") == "z***@example.cn"
