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
