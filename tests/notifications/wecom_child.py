"""A dispatcher in its own process for the WeChat Work crash test: it claims the due rows, sends the
first through the real WeChat Work backend (to the test's fake API, named by the WECOM_* variables),
and once the API has answered, blocks before the outbox records the answer, until the test kills
it with SIGKILL. Run as `python -m tests.notifications.wecom_child --marker PATH`."""

import argparse
import os
import time

from notifications.wecom import WeComBackend


class AnswerThenHang(WeComBackend):
    marker = ""

    def send(self, notification):
        msgid = super().send(notification)
        with open(type(self).marker, "w") as marker:
            marker.write(f"{notification.pk} {msgid}")
        while True:  # crash point: the API has the message, the row does not know yet
            time.sleep(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--marker", required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from notifications import dispatch
    from tests.notifications.wecom_child import AnswerThenHang as backend

    backend.marker = args.marker
    settings.NOTIFICATIONS_CHANNEL_BACKENDS = {"wecom": "tests.notifications.wecom_child.AnswerThenHang"}
    dispatch.dispatch_batch(limit=10, lease_seconds=120)


if __name__ == "__main__":
    main()
