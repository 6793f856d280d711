"""What `notify` reads (issue 18): the recipient's addresses, switches and the kind's active
template in one query; each template text compiled once per process, so an admin's edit shows in
the very next message; and for an object created in the caller's transaction (`about_is_new`) the
rows are inserted and returned without looking for earlier ones."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from notifications.default_templates import DEFAULT_TEMPLATES
from notifications.models import Channel, Notification, NotificationTemplate
from notifications.services import notify
from tests.factories import FacilityFactory, UserFactory
from tests.notifications.conftest import doctor_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def about():
    facility = FacilityFactory()
    ContentType.objects.get_for_model(facility, for_concrete_model=False)  # the per-process cache, warm
    return facility


def test_each_edit_of_a_template_shows_in_the_next_message(about):
    user = UserFactory(email="")
    template = NotificationTemplate.objects.get(kind="roster_published")
    bodies = []
    for text in ("{{ month }} 排班已出。", "{{ month }} 排班已发布，请查看。", "{{ month }} 排班已出。"):
        template.body = text
        template.save()
        (row,) = notify(recipient=user, kind="roster_published", about=FacilityFactory(), context={"month": "12月"})
        bodies.append(row.body)
    assert bodies == ["12月 排班已出。", "12月 排班已发布，请查看。", "12月 排班已出。"]


def test_an_inactive_template_gives_the_built_in_text(about):
    NotificationTemplate.objects.filter(kind="roster_published").update(is_active=False, subject="停用", body="停用")
    (row,) = notify(recipient=UserFactory(email=""), kind="roster_published", about=about, context={"month": "12月"})
    assert row.subject != "停用" and row.body != "停用"
    assert row.subject == DEFAULT_TEMPLATES["roster_published"][0].strip()[:200]


def test_a_template_that_does_not_compile_gives_the_built_in_text(about):
    NotificationTemplate.objects.filter(kind="roster_published").update(body="{% if %}")
    (row,) = notify(recipient=UserFactory(email=""), kind="roster_published", about=about, context={"month": "12月"})
    assert "{%" not in row.body and row.body


def test_a_new_objects_rows_are_inserted_and_returned_in_two_queries(about, django_assert_num_queries):
    user = doctor_login(mobile="13900001111", email="x@example.cn")
    with django_assert_num_queries(2):  # settings with the template, then the INSERT
        rows = notify(recipient=user, kind="consult_booked", about=about, about_is_new=True)
    stored = list(Notification.objects.filter(object_id=about.pk, kind="consult_booked").order_by("channel"))
    assert [(r.pk, r.channel, r.address, r.body) for r in rows] == [(r.pk, r.channel, r.address, r.body) for r in stored]
    assert [r.channel for r in rows] == sorted([Channel.EMAIL, Channel.IN_APP, Channel.SMS])
    # The same event again, as any caller sends it, finds those rows instead of adding any.
    again = notify(recipient=user, kind="consult_booked", about=about, due_at=rows[0].scheduled_for)
    assert [r.pk for r in again] == [r.pk for r in rows]


def test_a_refused_call_leaves_the_callers_transaction_usable(about):
    with transaction.atomic():
        with pytest.raises(ValueError):
            notify(recipient=UserFactory(), kind="nonsense", about=about)
        (row,) = notify(recipient=UserFactory(email=""), kind="roster_published", about=about)
    assert Notification.objects.filter(pk=row.pk).exists()
