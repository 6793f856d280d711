"""WeChat Work's sent-once guarantee on PostgreSQL: two dispatchers at once send each message once
(sharing one token), and a worker killed after the API answered does not get its message sent a
second time by the next one."""

import collections
import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from notifications import dispatch
from notifications.models import Notification
from tests.factories import FacilityFactory, UserFactory
from tests.notifications.conftest import make_due, run_dispatchers
from tests.notifications.test_reliability import _database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def wecom_rows(n: int):
    return make_due(
        UserFactory(), FacilityFactory(), n, channel="wecom",
        addresses=[f"doc{i:03d}" for i in range(n)], bodies=[f"第 {i} 条消息" for i in range(n)],
    )  # fmt: skip


def test_two_dispatchers_send_each_wecom_message_once(fake_wecom):
    rows = wecom_rows(80)
    assert run_dispatchers(2, limit=10, time_budget=60) == []
    taken = collections.Counter((m["touser"], m["content"]) for m in fake_wecom.delivered)
    assert len(taken) == 80 and max(taken.values()) == 1
    assert fake_wecom.token_fetches <= 2  # one shared token (both may ask at the very start)
    sent = Notification.objects.filter(pk__in=[r.pk for r in rows], status="sent")
    assert sent.count() == 80
    assert set(sent.values_list("external_id", flat=True)) == {m["msgid"] for m in fake_wecom.delivered}


def test_a_worker_killed_after_the_api_answered_never_gets_its_message_sent_again(tmp_path, fake_wecom, settings):
    (row,) = wecom_rows(1)
    marker = tmp_path / "answered.txt"
    env = {
        **os.environ, "DATABASE_URL": _database_url(), "PYTHONPATH": str(ROOT), "WECOM_CORP_ID": fake_wecom.corp_id,
        "WECOM_AGENT_ID": fake_wecom.agent_id, "WECOM_SECRET": fake_wecom.secret, "WECOM_API_BASE": fake_wecom.base,
        "WECOM_TIMEOUT": "5",
    }  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.notifications.wecom_child", "--marker", str(marker)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.stdout.read().decode()
            assert time.monotonic() < deadline, "the child never reached its crash point"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert len(fake_wecom.delivered) == 1
    row.refresh_from_db()
    assert row.status == "sending" and row.handed_over_at is not None  # the answer was never recorded

    assert dispatch.dispatch_due().claimed == 0  # the dead worker's lease still holds
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=121)):
        result = dispatch.dispatch_due()
        assert (result.claimed, result.sent, result.failed) == (1, 0, 1)
        assert dispatch.dispatch_due().claimed == 0
    assert len(fake_wecom.delivered) == 1  # sent once, never twice
    row.refresh_from_db()
    assert row.status == "failed" and "may have arrived" in row.last_error
