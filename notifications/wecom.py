"""企业微信 (WeChat Work) application messages: a text message from the county's self-built app to a
member's user id (a doctor's `wecom_userid` on the register, given by staffing's address resolver).

The API (settings WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, WECOM_API_BASE, WECOM_TIMEOUT):
- `GET /cgi-bin/gettoken?corpid=…&corpsecret=…` → `access_token`, valid `expires_in` seconds. It
  is kept in Django's cache (Redis in production, so every worker shares one) until shortly before
  it runs out; WeChat Work hands out the same token again while it is valid, so two workers
  fetching at once do no harm.
- `POST /cgi-bin/message/send?access_token=…` with `{"touser", "msgtype": "text", "agentid",
  "text": {"content"}}` → `{"errcode", "errmsg", "invaliduser", "msgid"}`.

Answers: errcode 0 is sent (its msgid is recorded on the row), unless the user is listed in
`invaliduser`; 40014/42001/40001 (the token is invalid or expired) drop the cached token, fetch a
new one and send once more; -1 (busy), 45009/45033 (rate limits), 5xx and a request that never
left are temporary (the outbox retries with its backoff); every other code is permanent and
recorded with its number (81013 no such user, 60020 IP not allowed, 40013 corp id, 40056 agent id,
301002 no rights…). A message the API received without the answer reaching us (the connection
dropped after the request went out) may have arrived: WeChat Work cannot recognise a repeat, so it
fails for an admin to check rather than risk sending it twice."""

import hashlib
import http.client
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from notifications.registry import ChannelError, register_channel

logger = logging.getLogger(__name__)

CODE = "wecom"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
TEMPORARY_ERRORS = frozenset({-1, 45009, 45033})
USERID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def validate_wecom_userid(value: str) -> None:
    """A WeChat Work member's UserID: 1–64 letters, digits and _ - @ . starting with a letter or digit."""
    if value and not USERID_PATTERN.fullmatch(value):
        raise ValidationError(
            _("A WeChat Work user ID has 1–64 letters, digits and _ - @ . and starts with a letter or digit."),
            code="wecom_userid",
        )


def mask_userid(value: str) -> str:
    return f"{value[:2]}***" if len(value) > 2 else "*" * len(value)


def is_configured() -> bool:
    return bool(settings.WECOM_CORP_ID and settings.WECOM_AGENT_ID and settings.WECOM_SECRET)


def _failure(message: str, *, code=None, permanent: bool) -> ChannelError:
    return ChannelError(f"企业微信: {message}" + (f" (errcode {code})" if code is not None else ""), permanent=permanent, code=code)


class WeComClient:
    """The two calls the channel needs, over urllib (as the SMS gateway adapter)."""

    def __init__(self, *, corp_id: str, agent_id, secret: str, api_base: str, timeout: float):
        self.corp_id, self.agent_id, self.secret = corp_id, str(agent_id), secret
        self.api_base = api_base.rstrip("/")
        self.timeout = float(timeout)
        secret_tag = hashlib.sha256(secret.encode()).hexdigest()[:12]  # a new secret never reuses an old token
        self.cache_key = f"notifications:wecom:token:{corp_id}:{self.agent_id}:{secret_tag}"

    @classmethod
    def from_settings(cls) -> "WeComClient":
        return cls(
            corp_id=settings.WECOM_CORP_ID, agent_id=settings.WECOM_AGENT_ID, secret=settings.WECOM_SECRET,
            api_base=settings.WECOM_API_BASE, timeout=settings.WECOM_TIMEOUT,
        )  # fmt: skip

    # --- HTTP -----------------------------------------------------------------------------

    def _call(self, path: str, query: dict, body: dict | None = None) -> tuple[dict | None, str]:
        """(answer, "") or (None, why) when the request went out but no readable answer came back.
        Raises a temporary ChannelError when the request never left or the server answered 5xx."""
        url = f"{self.api_base}{path}?{urllib.parse.urlencode(query)}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        request = urllib.request.Request(url, data=data, headers=headers, method="GET" if data is None else "POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise _failure(f"HTTP {exc.code}", permanent=False)
            raise _failure(f"HTTP {exc.code}", permanent=True)
        except urllib.error.URLError as exc:  # raised while connecting or sending: the request never arrived
            raise _failure(f"unreachable ({exc.reason})", permanent=False)
        except (TimeoutError, http.client.HTTPException, OSError) as exc:  # the request went out, the answer did not come
            return None, f"{type(exc).__name__}: {exc}"
        try:
            answer = json.loads(raw)
            int(answer.get("errcode", 0))
        except (ValueError, TypeError, AttributeError):
            return None, "unreadable answer"
        return answer, ""

    # --- Token ------------------------------------------------------------------------------

    def access_token(self) -> str:
        token = cache.get(self.cache_key)
        if token:
            return token
        answer, trouble = self._call("/cgi-bin/gettoken", {"corpid": self.corp_id, "corpsecret": self.secret})
        if answer is None:  # fetching a token sends nothing: always safe to try again
            raise _failure(f"no token ({trouble})", permanent=False)
        code = int(answer.get("errcode", 0))
        if code != 0 or not answer.get("access_token"):
            raise _failure(f"no token: {answer.get('errmsg', '')}", code=code, permanent=code not in TEMPORARY_ERRORS)
        expires_in = int(answer.get("expires_in") or 7200)
        keep = expires_in - 300 if expires_in > 600 else int(expires_in * 0.9)
        cache.set(self.cache_key, answer["access_token"], timeout=max(1, keep))
        return answer["access_token"]

    def drop_token(self, token: str) -> None:
        """Forget `token`, unless another worker has already put a newer one in its place."""
        if cache.get(self.cache_key) == token:
            cache.delete(self.cache_key)

    # --- Messages ---------------------------------------------------------------------------

    def send_text(self, *, touser: str, content: str) -> str:
        """Send one text message to one member; returns the API's msgid or raises ChannelError."""
        payload = {"touser": touser, "msgtype": "text", "agentid": int(self.agent_id) if self.agent_id.isdigit() else self.agent_id,
                   "text": {"content": content}}  # fmt: skip
        token = self.access_token()
        answer = self._post_message(token, payload)
        if int(answer.get("errcode", 0)) in TOKEN_ERRORS:
            # Refused before anything was sent: a fresh token, one more try.
            self.drop_token(token)
            answer = self._post_message(self.access_token(), payload)
        code = int(answer.get("errcode", 0))
        if code == 0:
            invalid = [user for user in str(answer.get("invaliduser") or "").split("|") if user]
            if touser.lower() in {user.lower() for user in invalid}:  # WeChat Work ignores case in user ids
                raise _failure(f"user {mask_userid(touser)} is not a member the app may reach", code="invaliduser", permanent=True)
            return str(answer.get("msgid") or "")
        message = f"refused for {mask_userid(touser)}: {answer.get('errmsg', '')}".strip()
        raise _failure(message, code=code, permanent=code not in TEMPORARY_ERRORS and code not in TOKEN_ERRORS)

    def _post_message(self, token: str, payload: dict) -> dict:
        answer, trouble = self._call("/cgi-bin/message/send", {"access_token": token}, payload)
        if answer is None:
            raise _failure(
                f"the message to {mask_userid(payload['touser'])} went out but no answer came back ({trouble}); "
                "it may have arrived, so it is not sent again automatically — check with the recipient, then retry",
                permanent=True,
            )
        return answer


class WeComBackend:
    """The outbox backend: the row's address is the member's user id."""

    def __init__(self, client: WeComClient | None = None):
        self.client = client or WeComClient.from_settings()

    def send(self, notification) -> str:
        if not is_configured():
            raise _failure("WECOM_CORP_ID, WECOM_AGENT_ID and WECOM_SECRET are not all set", permanent=False)
        if not notification.address:
            raise _failure("no user id", permanent=True)
        content = f"{notification.subject}\n{notification.body}" if notification.subject else notification.body
        return self.client.send_text(touser=notification.address, content=content)


def register() -> None:
    register_channel(
        code=CODE, label=_("WeChat Work"), preference_label=_("Send me WeChat Work messages"),
        backend="notifications.wecom.WeComBackend", available=is_configured, mask=mask_userid,
        send_seconds=lambda: 4 * float(settings.WECOM_TIMEOUT),  # two tokens and two sends at worst
        repeat_safe=False, order=30,
    )  # fmt: skip
