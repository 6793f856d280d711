import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from clinics.models import Facility
from notifications.default_templates import DEFAULT_TEMPLATES
from notifications.models import (
    Channel,
    ChannelPreference,
    Kind,
    Notification,
    NotificationPreference,
    NotificationTemplate,
)
from notifications.services import cancel_pending, notify
from tests.factories import FacilityFactory, UserFactory
from tests.notifications.conftest import doctor_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def about():
    return FacilityFactory()


def test_every_kind_has_a_chinese_template_seeded():
    assert set(DEFAULT_TEMPLATES) == set(Kind.values)
    assert set(NotificationTemplate.objects.values_list("kind", flat=True)) == set(Kind.values)


def test_notify_writes_one_row_per_accepted_channel(about):
    user = doctor_login(mobile="13912345678", email="wang@example.cn")
    rows = notify(
        recipient=user,
        kind="consult_booked",
        about=about,
        context={"start": "12月1日 09:30", "consultant_name": "李主任"},
    )
    assert sorted(r.channel for r in rows) == [Channel.EMAIL, Channel.IN_APP, Channel.SMS]
    sms = next(r for r in rows if r.channel == Channel.SMS)
    assert sms.address == "13912345678"
    assert "12月1日 09:30" in sms.body and "李主任" in sms.body
    assert "13912345678" not in sms.body
    assert sms.subject == "远程会诊已预约"
    assert sms.status == Notification.Status.PENDING


def test_notify_is_idempotent_per_event_and_due_time(about):
    user = UserFactory(email="")
    due = timezone.now() + datetime.timedelta(hours=24)
    first = notify(recipient=user, kind="consult_reminder_24h", about=about, due_at=due)
    again = notify(recipient=user, kind="consult_reminder_24h", about=about, due_at=due)
    assert [r.pk for r in first] == [r.pk for r in again]
    notify(recipient=user, kind="consult_booked", about=about)
    notify(recipient=user, kind="consult_booked", about=about)
    assert Notification.objects.filter(recipient=user).count() == 2


def test_preference_switches_channels_off_and_supplies_the_mobile(about):
    user = doctor_login(mobile="13912345678", email="a@example.cn")
    NotificationPreference.objects.create(user=user, mobile="13800001111")
    ChannelPreference.objects.create(user=user, channel=Channel.EMAIL, enabled=False)
    ChannelPreference.objects.create(user=user, channel=Channel.SMS, enabled=True)
    rows = notify(recipient=user, kind="payslip_available", about=about, context={"month": "2026年11月"})
    assert {(r.channel, r.address) for r in rows} == {(Channel.IN_APP, ""), (Channel.SMS, "13800001111")}


def test_cancel_pending_cancels_only_unsent_rows_and_notify_can_reopen(about):
    user = UserFactory(email="")
    due = timezone.now() + datetime.timedelta(minutes=30)
    (row,) = notify(recipient=user, kind="consult_reminder_30m", about=about, due_at=due)
    sent = notify(recipient=user, kind="consult_booked", about=about)[0]
    Notification.objects.filter(pk=sent.pk).update(status="sent", sent_at=timezone.now())
    assert cancel_pending(kind=["consult_reminder_30m", "consult_booked"], about=about) == 1
    row.refresh_from_db()
    assert row.status == Notification.Status.CANCELLED
    (again,) = notify(recipient=user, kind="consult_reminder_30m", about=about, due_at=due)
    assert again.pk == row.pk and again.status == Notification.Status.PENDING


def test_admin_edited_template_is_used(about):
    NotificationTemplate.objects.filter(kind="roster_published").update(body="{{ month }} 排班已出，请查看。")
    (row,) = notify(recipient=UserFactory(email=""), kind="roster_published", about=about, context={"month": "12月"})
    assert row.body == "12月 排班已出，请查看。"


def test_unknown_kind_is_refused(about):
    with pytest.raises(ValueError):
        notify(recipient=UserFactory(), kind="nonsense", about=about)


def test_generic_reference_points_at_the_object(about):
    (row,) = notify(recipient=UserFactory(email=""), kind="roster_published", about=about)
    assert isinstance(row.about, Facility) and row.about.pk == about.pk


def test_notify_costs_a_fixed_number_of_queries(about, django_assert_max_num_queries):
    user = doctor_login(mobile="13900001111", email="x@example.cn")
    # The steady cost: the content-type cache is per process and emptied whenever another test
    # flushes the database, so the first notify after that pays one look-up more.
    ContentType.objects.get_for_model(about, for_concrete_model=False)
    with django_assert_max_num_queries(6):
        rows = notify(recipient=user, kind="consult_booked", about=about)
    assert len(rows) == 3
