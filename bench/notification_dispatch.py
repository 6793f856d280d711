"""Bench: 10,000 due notifications dispatched by 2 worker processes with a fake channel.

Reports the total time, and how many rows were sent twice (must be 0) and lost (must be 0).
Meant for PostgreSQL (SKIP LOCKED is the point); on a SQLite file it checks the SQLite claim path.
Runs against the configured database and clears its own rows afterwards:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cunyi_notifications \\
        .venv/bin/python bench/notification_dispatch.py [--rows 10000] [--workers 2] [--batch 100]

The fake channel appends each sent id to a per-worker file, so a duplicate across workers shows
up when the files are merged. Not part of the test suite.
"""

import argparse
import collections
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")  # production's setting: benches never run with DEBUG on


class FileChannel:
    """Fake channel: records the id; no network."""

    record = None

    def send(self, notification):
        FileChannel.record.write(f"{notification.pk}\n")


def _setup():
    import django

    django.setup()
    from django.conf import settings

    dotted = "bench.notification_dispatch.FileChannel"
    settings.NOTIFICATIONS_CHANNEL_BACKENDS = {"in_app": dotted, "email": dotted, "sms": dotted}
    settings.NOTIFICATIONS_DISPATCH_ON_COMMIT = False


def worker(path: str, batch: int, start) -> None:
    _setup()
    from bench.notification_dispatch import FileChannel as channel
    from notifications import dispatch

    with open(path, "w") as record:
        channel.record = record
        start.wait()
        while dispatch.dispatch_batch(limit=batch).claimed:
            record.flush()


def seed(rows: int) -> tuple[list[int], object]:
    import datetime

    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from notifications.models import Notification

    user, _ = get_user_model().objects.get_or_create(username="bench-notifications")
    ct = ContentType.objects.get_for_model(user)
    Notification.objects.filter(recipient=user).delete()
    now = timezone.now()
    channels = ["in_app", "email", "sms"]
    objs = []
    for i in range(rows):
        due = now - datetime.timedelta(seconds=i % 3600)
        objs.append(
            Notification(
                recipient=user, channel=channels[i % 3], kind="roster_published", content_type=ct, object_id=user.pk,
                scheduled_for=due, dedupe_key=f"bench-{i}", due_at=due, next_attempt_at=due,
                address="13800000000" if i % 3 == 2 else ("bench@example.cn" if i % 3 == 1 else ""),
                subject="排班表已发布", body="2026年12月的排班表已发布，请在“我的值班”中查看您的班次。",
            )  # fmt: skip
        )
    created = Notification.objects.bulk_create(objs, batch_size=2000)
    return [n.pk for n in created], user


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    _setup()
    from django.db import connection

    from notifications.models import Notification

    if connection.vendor != "postgresql":
        print("not PostgreSQL: measuring the SQLite claim (conditional UPDATE, serialised writers) instead")
    ids, user = seed(args.rows)
    connection.close()

    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(args.workers + 1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, f"worker-{i}.txt") for i in range(args.workers)]
        procs = [ctx.Process(target=worker, args=(p, args.batch, start)) for p in paths]
        for proc in procs:
            proc.start()
        start.wait()
        began = time.perf_counter()
        for proc in procs:
            proc.join()
        elapsed = time.perf_counter() - began
        per_worker = [Path(p).read_text().split() for p in paths]

    sends = collections.Counter(int(pk) for lines in per_worker for pk in lines)
    twice = sum(1 for n in sends.values() if n > 1)
    lost = len(set(ids) - set(sends))
    marked = Notification.objects.filter(recipient=user, status="sent").count()
    print(f"rows {args.rows}, workers {args.workers}, batch {args.batch}")
    print(f"total time {elapsed:.2f} s ({args.rows / elapsed:,.0f} notifications/s)")
    print("per worker sent: " + ", ".join(str(len(lines)) for lines in per_worker))
    print(f"sent twice: {twice}")
    print(f"lost: {lost}")
    print(f"marked sent in the outbox: {marked}")
    Notification.objects.filter(recipient=user).delete()
    if twice or lost or marked != args.rows:
        sys.exit(1)


if __name__ == "__main__":
    main()
