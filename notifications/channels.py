"""The built-in channels: the inbox, e-mail (Django's EMAIL_BACKEND) and SMS (a console logger by
default, or an HTTPS gateway). Each backend sends one notification to its address or raises
ChannelError; `register_builtin_channels` puts them in the registry (notifications.registry), where
the WeChat Work channel (notifications.wecom) and any other join them. Addresses never reach the
logs in full."""

import json
import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext_lazy as _

from core.validators import mask_mobile
from notifications.models import Channel
from notifications.registry import ChannelError, backend_for, mask_address, register_address_resolver, register_channel

__all__ = ["ChannelError", "backend_for", "mask_address", "mask_email", "register_builtin_channels"]

logger = logging.getLogger(__name__)


def mask_email(value: str) -> str:
    if not value or "@" not in value:
        return "*" * len(value or "")
    local, _at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


class InAppBackend:
    """The row itself is the inbox entry: delivering it means marking it sent."""

    def send(self, notification) -> None:
        return None


class EmailBackend:
    """Through Django's e-mail backend (EMAIL_BACKEND)."""

    def send(self, notification) -> None:
        if not notification.address:
            raise ChannelError("no e-mail address", permanent=True)
        try:
            send_mail(notification.subject, notification.body, None, [notification.address], fail_silently=False)
        except Exception as exc:
            raise ChannelError(f"e-mail to {mask_email(notification.address)} failed: {type(exc).__name__}: {exc}")


class ConsoleSMSBackend:
    """The default: writes the message to the log with the mobile masked (development, `make run`)."""

    def send(self, notification) -> None:
        if not notification.address:
            raise ChannelError("no mobile number", permanent=True)
        logger.info("SMS to %s: %s", mask_mobile(notification.address), notification.shown_body)


class HttpGatewaySMSBackend:
    """An SMS gateway over HTTPS: POSTs JSON with the gateway's template id and the text as its one
    parameter, authenticated by the key. `out_id` lets the gateway drop a message it has already
    accepted, should a crashed worker's claim be sent again."""

    def __init__(self, *, url: str | None = None, key: str | None = None, template_id: str | None = None, timeout=None):
        self.url = url if url is not None else settings.SMS_GATEWAY_URL
        self.key = key if key is not None else settings.SMS_GATEWAY_KEY
        self.template_id = template_id if template_id is not None else settings.SMS_GATEWAY_TEMPLATE_ID
        self.timeout = float(timeout if timeout is not None else settings.SMS_GATEWAY_TIMEOUT)

    def send(self, notification) -> None:
        if not self.url:
            raise ChannelError("SMS_GATEWAY_URL is not set", permanent=False)
        if not notification.address:
            raise ChannelError("no mobile number", permanent=True)
        payload = {
            "mobile": notification.address,
            "template_id": self.template_id,
            "params": {"content": notification.body},
            "out_id": f"cunyi-{notification.pk}",
        }
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {self.key}"},
            method="POST",
        )
        masked = mask_mobile(notification.address)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            # 4xx other than 429 means the gateway will never accept this message as it is.
            permanent = 400 <= exc.code < 500 and exc.code != 429
            raise ChannelError(f"SMS gateway answered HTTP {exc.code} for {masked}", permanent=permanent)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ChannelError(f"SMS gateway unreachable for {masked}: {exc}")
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            raise ChannelError(f"SMS gateway gave an unreadable answer for {masked}")
        if str(answer.get("code", "OK")).upper() not in ("OK", "0"):
            raise ChannelError(f"SMS gateway refused {masked}: {answer.get('code')} {answer.get('message', '')}".strip())
        logger.info("SMS to %s accepted by the gateway (%s)", masked, answer.get("message_id", "-"))


def account_email(user) -> str:
    """The last resort for e-mail: the address on the user's account."""
    return getattr(user, "email", "") or ""


def register_builtin_channels() -> None:
    register_channel(
        code=Channel.IN_APP, label=_("In-app inbox"), backend="notifications.channels.InAppBackend", always_on=True,
        order=0,
    )  # fmt: skip
    register_channel(
        code=Channel.EMAIL, label=_("E-mail"), preference_label=_("Send me e-mail"),
        backend="notifications.channels.EmailBackend", own_address="email", mask=mask_email, order=10,
    )  # fmt: skip
    register_channel(
        code=Channel.SMS, label=_("SMS"), preference_label=_("Send me SMS"),
        backend=lambda: settings.NOTIFICATIONS_SMS_BACKEND, own_address="mobile", mask=mask_mobile,
        send_seconds=lambda: settings.SMS_GATEWAY_TIMEOUT, order=20,
    )  # fmt: skip
    register_address_resolver(Channel.EMAIL, account_email, priority=1000)
