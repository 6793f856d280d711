import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications.models import Notification

SENT: list = []


class RecordingBackend:
    """A fake channel: records (id, channel, address) of every send."""

    def send(self, notification):
        SENT.append((notification.pk, notification.channel, notification.address))


class FailingBackend:
    def send(self, notification):
        from notifications.channels import ChannelError

        raise ChannelError("gateway down")


FAKE = "tests.notifications.conftest.RecordingBackend"


@pytest.fixture
def fake_channels(settings):
    SENT.clear()
    settings.NOTIFICATIONS_CHANNEL_BACKENDS = {"in_app": FAKE, "email": FAKE, "sms": FAKE}
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = False
    yield SENT
    SENT.clear()


@pytest.fixture
def no_kick(settings):
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = False


class JSONHandler(BaseHTTPRequestHandler):
    def answer(self, payload, status: int = 200) -> None:
        import json

        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_json(self) -> dict:
        import json

        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

    def log_message(self, *args):
        pass


class LocalServer:
    """A real HTTP server on 127.0.0.1 in a thread, for the duration of a `with` block."""

    def serve(self, handler) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class FakeGateway(LocalServer):
    """A tiny SMS gateway on 127.0.0.1: answers the JSON the HTTP adapter posts."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.answer = {"code": "OK", "message_id": "m-1"}
        gateway = self

        class Handler(JSONHandler):
            def do_POST(self):
                gateway.requests.append({"headers": dict(self.headers), "json": self.read_json(), "path": self.path})
                self.answer(gateway.answer, status=gateway.status)

        self.serve(Handler)
        self.url = f"{self.base}/sms/send"


@pytest.fixture
def fake_gateway():
    with FakeGateway() as gateway:
        yield gateway


def doctor_login(*, mobile: str = "13912345678", email: str = "", wecom_userid: str = ""):
    """A user who is a doctor on the register: the register gives the SMS and WeChat Work addresses."""
    from tests.factories import DoctorFactory, UserFactory

    user = UserFactory(email=email)
    DoctorFactory(user=user, mobile=mobile, wecom_userid=wecom_userid)
    return user


def make_due(recipient, about, n: int, *, kind="roster_published", addresses=None, bodies=None, **fields):
    """n due outbox rows for one recipient (distinct due times keep them distinct events); `addresses`
    and `bodies` (lists of n) vary the address and text per row."""
    import datetime

    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    now = timezone.now()
    ct = ContentType.objects.get_for_model(about)
    rows = []
    for i in range(n):
        due = now - datetime.timedelta(seconds=i + 1)
        rows.append(
            Notification(
                recipient=recipient, channel=fields.get("channel", "in_app"), kind=kind, content_type=ct,
                object_id=about.pk, scheduled_for=due, dedupe_key=f"bulk-{i}", due_at=due, next_attempt_at=due,
                address=addresses[i] if addresses else fields.get("address", ""), subject="排班表已发布",
                body=bodies[i] if bodies else "排班表已发布，请查看。",
            )  # fmt: skip
        )
    return Notification.objects.bulk_create(rows, batch_size=2000)


class FakeWeCom(LocalServer):
    """A local WeChat Work API on 127.0.0.1 (a real http.server in a thread): `gettoken` and
    `message/send`, counting token fetches, able to expire tokens, to answer the next sends with
    chosen error codes (`next_codes`), to list users as `invaliduser`, and to drop the connection
    after taking a message (`drop_after_taking`)."""

    corp_id = "wwtestcorp0001"
    secret = "test-secret-abc"
    agent_id = "1000002"

    def __init__(self):
        self.lock = threading.Lock()
        self.token_fetches = 0
        self.valid_tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.next_codes: list[int] = []
        self.invalid_users: set[str] = set()
        self.drop_after_taking = False
        self.http_status = 200
        self.expires_in = 7200
        self.delivered: list[dict] = []  # messages taken: {"touser", "content", "agentid", "msgid", "token"}
        self.send_calls = 0
        fake = self

        class Handler(JSONHandler):
            def do_GET(self):
                import urllib.parse

                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path != "/cgi-bin/gettoken":
                    return self.answer({"errcode": 404, "errmsg": "no such api"}, status=404)
                if query.get("corpid") != fake.corp_id:
                    return self.answer({"errcode": 40013, "errmsg": "invalid corpid"})
                if query.get("corpsecret") != fake.secret:
                    return self.answer({"errcode": 40001, "errmsg": "invalid credential"})
                with fake.lock:
                    fake.token_fetches += 1
                    token = f"token-{fake.token_fetches}"
                    fake.valid_tokens.add(token)
                self.answer({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": fake.expires_in})

            def do_POST(self):
                import urllib.parse

                url = urllib.parse.urlsplit(self.path)
                token = dict(urllib.parse.parse_qsl(url.query)).get("access_token", "")
                body = self.read_json()
                with fake.lock:
                    fake.send_calls += 1
                    if fake.http_status != 200:
                        return self.answer({"errmsg": "gateway error"}, status=fake.http_status)
                    if token in fake.expired_tokens:
                        return self.answer({"errcode": 42001, "errmsg": "access_token expired"})
                    if token not in fake.valid_tokens:
                        return self.answer({"errcode": 40014, "errmsg": "invalid access_token"})
                    if fake.next_codes:
                        code = fake.next_codes.pop(0)
                        if code != 0:
                            return self.answer({"errcode": code, "errmsg": f"error {code}"})
                    if body.get("msgtype") != "text" or str(body.get("agentid")) != fake.agent_id:
                        return self.answer({"errcode": 40056, "errmsg": "invalid agentid"})
                    if body.get("touser") in fake.invalid_users:
                        return self.answer({"errcode": 0, "errmsg": "ok", "invaliduser": body["touser"]})
                    msgid = f"msg-{len(fake.delivered) + 1}"
                    fake.delivered.append({"touser": body["touser"], "content": body["text"]["content"],
                                           "agentid": body["agentid"], "msgid": msgid, "token": token})  # fmt: skip
                    drop = fake.drop_after_taking
                if drop:  # took the message, the answer never leaves
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.answer({"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid})

        self.serve(Handler)

    def expire_tokens(self) -> None:
        with self.lock:
            self.expired_tokens |= self.valid_tokens
            self.valid_tokens = set()


@pytest.fixture
def fake_wecom(settings):
    """The fake API, with the channel configured to use it and no token cached."""
    from django.core.cache import cache

    from notifications.wecom import WeComClient

    with FakeWeCom() as fake:
        settings.WECOM_CORP_ID, settings.WECOM_AGENT_ID, settings.WECOM_SECRET = fake.corp_id, fake.agent_id, fake.secret
        settings.WECOM_API_BASE = fake.base
        settings.WECOM_TIMEOUT = 2
        settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = False
        key = WeComClient.from_settings().cache_key
        cache.delete(key)
        yield fake
        cache.delete(key)


def run_dispatchers(n: int = 2, **options) -> list:
    """n dispatchers at once, each in its own thread and database connection (started together by
    a barrier), named worker-0…; returns the exceptions they raised."""
    from django.db import connections

    from notifications import dispatch

    start = threading.Barrier(n)
    errors = []

    def worker():
        try:
            start.wait()
            dispatch.dispatch_due(**options)
        except Exception as exc:  # pragma: no cover - surfaced by the caller's assertion
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, name=f"worker-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
