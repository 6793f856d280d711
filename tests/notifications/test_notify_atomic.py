"""`notify` called outside any transaction (a Celery task, a management command) writes its rows in
one transaction of its own: a failure part-way leaves none of them, the way a caller's own
transaction would. Inside a caller's transaction it adds no savepoint (the booking's statement
count, tests/telemedicine/test_booking_statements.py)."""

import pytest
from django.db import connection

from notifications import services
from notifications.models import Channel, Notification
from notifications.services import cancel_pending, notify
from tests.factories import FacilityFactory
from tests.notifications.conftest import doctor_login

pytestmark = pytest.mark.django_db(transaction=True)


class Interrupted(Exception):
    pass


def _interrupt_after_the_writes(monkeypatch):
    """Fail at the last step of `notify`, once every row of the call is written."""
    seen = {}

    def interrupted():
        seen["in_atomic_block"] = connection.in_atomic_block
        raise Interrupted

    monkeypatch.setattr(services, "_dispatch_after_commit", interrupted)
    return seen


def test_outside_a_transaction_a_failure_after_the_rows_leaves_none(monkeypatch):
    user = doctor_login(mobile="13900002222", email="a@example.cn")
    about = FacilityFactory()
    assert not connection.in_atomic_block
    seen = _interrupt_after_the_writes(monkeypatch)

    with pytest.raises(Interrupted):
        notify(recipient=user, kind="roster_published", about=about, context={"month": "12月"})

    assert seen["in_atomic_block"] is True
    assert not Notification.objects.filter(object_id=about.pk).exists()


def test_outside_a_transaction_queuing_again_after_a_cancel_is_all_or_nothing(monkeypatch):
    user = doctor_login(mobile="13900003333", email="b@example.cn")
    about = FacilityFactory()
    rows = notify(recipient=user, kind="roster_published", about=about, context={"month": "12月"}, due_at=None)
    assert {row.channel for row in rows} == {Channel.IN_APP, Channel.EMAIL, Channel.SMS}
    assert cancel_pending(kind="roster_published", about=about) == len(rows)
    _interrupt_after_the_writes(monkeypatch)

    with pytest.raises(Interrupted):  # the rows are queued again (an UPDATE), then the call fails
        notify(recipient=user, kind="roster_published", about=about, context={"month": "12月"}, due_at=None)

    statuses = set(Notification.objects.filter(object_id=about.pk).values_list("status", flat=True))
    assert statuses == {Notification.Status.CANCELLED}


def test_without_a_failure_the_rows_are_committed():
    user = doctor_login(mobile="13900004444")
    about = FacilityFactory()
    rows = notify(recipient=user, kind="roster_published", about=about, context={"month": "12月"})
    assert not connection.in_atomic_block
    assert sorted(Notification.objects.filter(object_id=about.pk).values_list("pk", flat=True)) == sorted(r.pk for r in rows)
