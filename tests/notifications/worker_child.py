"""A dispatcher in its own process, for the crash test: claims a batch, sends `--send` rows
through a channel that records each send in a file, then blocks inside the next send until the
test kills it with SIGKILL. Run as `python -m tests.notifications.worker_child`."""

import argparse
import os
import time


class FileRecordingBackend:
    path = ""
    limit = 0
    count = 0

    def send(self, notification):
        cls = type(self)
        if cls.count >= cls.limit:
            with open(cls.path + ".blocked", "w") as marker:
                marker.write(str(notification.pk))
            while True:  # crash point: the test kills the process here, before this row goes out
                time.sleep(1)
        with open(cls.path, "a") as record:
            record.write(f"{notification.pk}\n")
            record.flush()
            os.fsync(record.fileno())
        cls.count += 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--send", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--lease", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from notifications import dispatch

    # Run as __main__, this module is not the one import_string loads: configure that one.
    from tests.notifications.worker_child import FileRecordingBackend as backend

    backend.path, backend.limit = args.record, args.send
    dotted = "tests.notifications.worker_child.FileRecordingBackend"
    settings.NOTIFICATIONS_CHANNEL_BACKENDS = {"in_app": dotted, "email": dotted, "sms": dotted}
    dispatch.dispatch_batch(limit=args.batch, lease_seconds=args.lease)


if __name__ == "__main__":
    main()
