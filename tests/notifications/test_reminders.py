import datetime

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from notifications import reminders
from notifications.models import Notification
from notifications.services import notify
from notifications.tasks import dispatch_due_notifications_task, run_reminder_scans_task
from tests.factories import FacilityFactory, UserFactory


def test_tasks_have_explicit_names_and_late_acks():
    for task, name in [(dispatch_due_notifications_task, "notifications.dispatch_due"),
                       (run_reminder_scans_task, "notifications.run_reminder_scans")]:  # fmt: skip
        assert task.name == name
        assert task.acks_late is True and task.reject_on_worker_lost is True


def test_beat_runs_dispatch_every_minute_and_scans_daily():
    schedule = {entry["task"]: entry["schedule"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["notifications.dispatch_due"] == 60.0
    assert schedule["notifications.run_reminder_scans"].hour == {6}


def test_expiry_windows_cover_every_day_once():
    today = datetime.date(2026, 11, 29)
    windows = reminders.expiry_windows(today)
    assert windows == [
        (90, datetime.date(2026, 12, 30), datetime.date(2027, 2, 27)),
        (30, datetime.date(2026, 11, 29), datetime.date(2026, 12, 29)),
    ]


def test_expiry_due_at_is_9am_local_on_the_reminder_day():
    due = reminders.expiry_due_at(datetime.date(2027, 2, 27), 90)
    assert timezone.localtime(due).replace(tzinfo=None) == datetime.datetime(2026, 11, 29, 9, 0)


@pytest.mark.django_db
def test_registered_scanners_run_daily_and_a_rerun_queues_nothing_twice(no_kick, monkeypatch):
    """A scanner of the kind staffing registers: reminders keyed on the expiry date are idempotent."""
    user = UserFactory(email="")
    clinic = FacilityFactory()
    expiry = datetime.date(2027, 2, 1)

    def licence_scanner(*, today):
        queued = 0
        for days, start, end in reminders.expiry_windows(today):
            if start <= expiry <= end:
                queued += len(notify(recipient=user, kind=f"licence_expiring_{days}", about=clinic,
                                     due_at=reminders.expiry_due_at(expiry, days), context={"expiry": "2027年2月1日"}))  # fmt: skip
        return queued

    def broken_scanner(*, today):
        raise RuntimeError("boom")

    monkeypatch.setattr(reminders, "SCANNERS", {})
    reminders.register_scanner("test.licences", licence_scanner)
    reminders.register_scanner("test.broken", broken_scanner)
    assert reminders.run_scanners(today=datetime.date(2026, 11, 29)) == {"test.broken": None, "test.licences": 1}
    reminders.run_scanners(today=datetime.date(2026, 11, 30))
    assert Notification.objects.filter(kind="licence_expiring_90").count() == 1
    reminders.run_scanners(today=datetime.date(2027, 1, 5))
    row = Notification.objects.get(kind="licence_expiring_30")
    assert "2027年2月1日" in row.body and "30 天" in row.body
