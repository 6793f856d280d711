import pytest
from django.urls import reverse
from django.utils import timezone

from clinics.models import Role
from core.models import AuditEntry
from notifications import dispatch
from notifications.models import Notification, NotificationPreference
from notifications.selectors import channel_switches
from notifications.services import notify
from tests.conftest import api_as
from tests.factories import FacilityFactory, UserFactory, make_user
from tests.notifications.conftest import make_due

pytestmark = pytest.mark.django_db
API = "/api/v1/notifications/"


@pytest.fixture
def doctor_user(roles):
    return make_user(Role.VILLAGE_DOCTOR, facility=FacilityFactory())


def delivered(user, n, **kw):
    rows = make_due(user, FacilityFactory(), n, **kw)
    Notification.objects.filter(pk__in=[r.pk for r in rows]).update(status="sent", sent_at=timezone.now())
    return rows


def test_api_lists_only_my_delivered_inbox_with_read_filter(doctor_user, fake_channels):
    other = UserFactory()
    notify(recipient=doctor_user, kind="roster_published", about=FacilityFactory(), context={"month": "2026年12月"})
    notify(recipient=other, kind="roster_published", about=FacilityFactory())
    dispatch.dispatch_due()
    client = api_as(doctor_user)
    data = client.get(API).json()
    assert data["count"] == 1 and data["unread"] == 1
    (item,) = data["results"]
    assert item["subject"] == "排班表已发布" and "2026年12月" in item["body"] and item["is_read"] is False
    assert client.get(API, {"read": "read"}).json()["count"] == 0

    marked = client.post(f"{API}{item['id']}/read/").json()
    assert marked["is_read"] is True
    assert client.get(API, {"read": "unread"}).json()["count"] == 0
    assert client.get(API, {"read": "read"}).json()["count"] == 1


def test_api_cannot_read_someone_elses_message(doctor_user):
    (theirs,) = delivered(UserFactory(), 1)
    response = api_as(doctor_user).post(f"{API}{theirs.pk}/read/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_api_mark_read_in_bulk(doctor_user):
    rows = delivered(doctor_user, 4)
    client = api_as(doctor_user)
    answer = client.post(f"{API}mark-read/", {"ids": [rows[0].pk, rows[1].pk]}, format="json").json()
    assert answer == {"marked": 2, "unread": 2}
    assert client.post(f"{API}mark-read/", {}, format="json").json() == {"marked": 2, "unread": 0}
    bad = client.post(f"{API}mark-read/", {"ids": ["x"]}, format="json")
    assert bad.status_code == 400


def test_api_needs_login():
    assert api_as(None).get(API).status_code in (401, 403)


@pytest.mark.parametrize("n", [5, 15])
def test_api_list_query_count_is_flat(doctor_user, django_assert_max_num_queries, n):
    delivered(doctor_user, n)
    client = api_as(doctor_user)
    with django_assert_max_num_queries(6):
        assert client.get(API).json()["count"] == n


def test_preferences_api_validates_mobile_in_chinese_and_audits(doctor_user):
    client = api_as(doctor_user)
    assert client.get(f"{API}preferences/").json() == {
        "email_enabled": True, "sms_enabled": True, "wecom_enabled": True, "mobile": "", "email": ""
    }  # fmt: skip
    bad = client.put(f"{API}preferences/", {"email_enabled": True, "sms_enabled": True, "mobile": "12345"}, format="json")
    assert bad.status_code == 400
    assert "11 位" in str(bad.json()) or "11" in str(bad.json())
    ok = client.patch(f"{API}preferences/", {"sms_enabled": False, "mobile": "13800002222"}, format="json")
    assert ok.status_code == 200 and ok.json()["sms_enabled"] is False
    pref = NotificationPreference.objects.get(user=doctor_user)
    switches = channel_switches(user=doctor_user)
    assert (pref.mobile, switches["sms"], switches["email"]) == ("13800002222", False, True)
    entry = AuditEntry.objects.get(action="notification_preference.update")
    assert "13800002222" not in str(entry.changes)


def test_phone_inbox_page_lists_and_marks_read(client, doctor_user):
    rows = delivered(doctor_user, 2)
    client.force_login(doctor_user)
    page = client.get(reverse("notifications:inbox"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "消息" in html and "未读" in html and "排班表已发布" in html
    response = client.post(reverse("notifications:mark-read", args=[rows[0].pk]), {"read": "unread"})
    assert response.status_code == 302 and response.url.endswith("?read=unread")
    unread = client.get(reverse("notifications:inbox"), {"read": "unread"}).content.decode()
    assert unread.count("data-notification=") == 1
    client.post(reverse("notifications:mark-all-read"))
    assert "没有未读消息" in client.get(reverse("notifications:inbox"), {"read": "unread"}).content.decode()


@pytest.mark.parametrize("n", [4, 12])
def test_phone_inbox_query_count_is_flat(client, doctor_user, django_assert_max_num_queries, n):
    delivered(doctor_user, n)
    client.force_login(doctor_user)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("notifications:inbox")).status_code == 200


def test_inbox_is_in_the_phone_menu_for_doctors_and_consultants(client, roles):
    doctor = make_user(Role.VILLAGE_DOCTOR, facility=FacilityFactory())
    client.force_login(doctor)
    assert reverse("notifications:inbox") in client.get(reverse("portal:home")).content.decode()
    from core.portal import menu_for

    assert "inbox" in [item.key for item in menu_for(Role.CONSULTANT)]
    assert "inbox" not in [item.key for item in menu_for(Role.PAYROLL_OFFICER)]


def test_phone_preferences_page_shows_chinese_error(client, doctor_user):
    client.force_login(doctor_user)
    response = client.post(reverse("notifications:preferences"), {"email_enabled": "on", "mobile": "1380000"})
    assert response.status_code == 200
    assert "手机号" in response.content.decode() or "11" in response.content.decode()
    response = client.post(reverse("notifications:preferences"), {"email_enabled": "on", "mobile": "13800003333"})
    assert response.status_code == 302
    assert channel_switches(user=doctor_user)["sms"] is False
