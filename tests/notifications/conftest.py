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


class FakeGateway:
    """A tiny SMS gateway on 127.0.0.1: answers the JSON the HTTP adapter posts."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.answer = {"code": "OK", "message_id": "m-1"}
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                import json

                length = int(self.headers.get("Content-Length", 0))
                gateway.requests.append(
                    {"headers": dict(self.headers), "json": json.loads(self.rfile.read(length) or b"{}"), "path": self.path}
                )
                body = json.dumps(gateway.answer).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_gateway():
    with FakeGateway() as gateway:
        yield gateway


def make_due(recipient, about, n: int, *, kind="roster_published", **fields):
    """n due outbox rows for one recipient (distinct due times keep them distinct events)."""
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
                address=fields.get("address", ""), subject="排班表已发布", body="排班表已发布，请查看。",
            )  # fmt: skip
        )
    return Notification.objects.bulk_create(rows, batch_size=2000)
