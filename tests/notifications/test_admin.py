import pytest
from django.urls import reverse

from core.models import AuditEntry
from notifications.models import Notification, NotificationTemplate
from tests.factories import FacilityFactory, UserFactory
from tests.notifications.conftest import make_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, county_admin):
    county_admin.is_staff = True
    county_admin.is_superuser = True
    county_admin.save()
    client.force_login(county_admin)
    return client


@pytest.mark.parametrize("n", [5, 15])
def test_outbox_changelist_query_count_is_flat(admin_client, django_assert_max_num_queries, n):
    make_due(UserFactory(), FacilityFactory(), n, channel="sms", address="13912345678")
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:notifications_notification_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "139****5678" in html and "13912345678" not in html


def test_failed_rows_show_their_error_and_can_be_retried(admin_client, no_kick):
    rows = make_due(UserFactory(), FacilityFactory(), 2)
    Notification.objects.filter(pk=rows[0].pk).update(status="failed", attempts=6, last_error="SMS 网关超时")
    listing = admin_client.get(reverse("admin:notifications_notification_changelist"), {"status__exact": "failed"})
    assert "SMS 网关超时" in listing.content.decode()
    response = admin_client.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "retry_failed", "_selected_action": [r.pk for r in rows]},
        follow=True,
    )
    assert "1 条通知已重新排队" in response.content.decode()
    rows[0].refresh_from_db()
    assert (rows[0].status, rows[0].attempts) == ("pending", 0)
    assert AuditEntry.objects.filter(action="notification.retry", object_id=str(rows[0].pk)).exists()


def test_template_admin_rejects_broken_template_text(admin_client):
    template = NotificationTemplate.objects.get(kind="consult_booked")
    url = reverse("admin:notifications_notificationtemplate_change", args=[template.pk])
    response = admin_client.post(url, {"kind": "consult_booked", "subject": "预约", "body": "{% if %}坏了", "is_active": "on"})
    assert response.status_code == 200
    assert "模板文字有误" in response.content.decode()
    template.refresh_from_db()
    assert template.body != "{% if %}坏了"


@pytest.mark.parametrize("model", ["notificationtemplate", "notificationpreference"])
def test_other_changelists_open(admin_client, model, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        assert admin_client.get(reverse(f"admin:notifications_{model}_changelist")).status_code == 200


def test_preference_admin_shows_and_saves_every_channel_through_the_service(admin_client, county_admin):
    from notifications.models import NotificationPreference
    from notifications.selectors import channel_switches
    from notifications.services import preference_update

    user = UserFactory()
    preference_update(user=user, acting_user=user, email_enabled=False, mobile="13800001111")
    preference = NotificationPreference.objects.get(user=user)
    listing = admin_client.get(reverse("admin:notifications_notificationpreference_changelist"), {"off": "email"})
    assert user.username in listing.content.decode() and "138****1111" in listing.content.decode()
    url = reverse("admin:notifications_notificationpreference_change", args=[preference.pk])
    html = admin_client.get(url).content.decode()
    assert all(f'name="{code}_enabled"' in html for code in ("email", "sms", "wecom"))

    response = admin_client.post(url, {"user": user.pk, "sms_enabled": "on", "wecom_enabled": "on", "mobile": "13800002222"})

    assert response.status_code == 302, response.content.decode()[:2000]
    assert channel_switches(user=user) == {"email": False, "sms": True, "wecom": True}
    preference.refresh_from_db()
    assert preference.mobile == "13800002222"
    assert AuditEntry.objects.filter(action="notification_preference.update", actor=county_admin).exists()
    assert admin_client.get(reverse("admin:notifications_notification_changelist"), {"address": "139"}).status_code == 400
