"""The channel registry: a channel is one registration, an address one resolver registered by the
app that knows the person, a preference one row per channel; the preference page and API list
every registered channel; the old two switches were carried over by the migration."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from clinics.models import Role
from notifications import registry
from notifications.models import Channel, ChannelPreference, Notification
from notifications.selectors import channel_switches
from notifications.services import notify, preference_update
from tests.conftest import api_as
from tests.factories import FacilityFactory, UserFactory, make_user
from tests.notifications.conftest import SENT, doctor_login

PAGERS = {}


class PagerBackend:
    def send(self, notification):
        SENT.append((notification.pk, notification.channel, notification.address))
        return f"page-{notification.pk}"


@pytest.fixture
def pager_channel():
    """A channel a test adds the way an app would: one registration, one resolver."""
    registry.register_channel(
        code="pager", label="寻呼机", preference_label="通过寻呼机通知我",
        backend="tests.notifications.test_registry.PagerBackend", enabled_by_default=False, order=40,
    )  # fmt: skip
    registry.register_address_resolver("pager", lambda user: PAGERS.get(user.pk, ""))
    yield "pager"
    registry.CHANNELS.pop("pager")
    registry.RESOLVERS.pop("pager")
    PAGERS.clear()


@pytest.mark.django_db
def test_a_registered_channel_gets_rows_from_its_resolver_once_the_user_switches_it_on(pager_channel, fake_channels):
    from notifications import dispatch

    user = UserFactory(email="")
    PAGERS[user.pk] = "PG-0771"
    about = FacilityFactory()
    assert [r.channel for r in notify(recipient=user, kind="roster_published", about=about)] == [Channel.IN_APP]  # off by default

    preference_update(user=user, acting_user=user, pager_enabled=True)
    rows = notify(recipient=user, kind="roster_amended", about=about)
    assert [(r.channel, r.address) for r in rows] == [(Channel.IN_APP, ""), ("pager", "PG-0771")]
    assert dispatch.dispatch_due().sent == 3  # two inbox rows and the page
    pager = Notification.objects.get(channel="pager")
    assert pager.external_id == f"page-{pager.pk}" and pager.get_channel_display() == "寻呼机"


@pytest.mark.django_db
def test_the_typed_address_wins_then_the_callers_then_the_resolvers(roles):
    user = doctor_login(mobile="13911110000")

    def sms(**kw):
        return {r.channel: r.address for r in notify(recipient=user, kind="leave_decided", about=FacilityFactory(), **kw)}[Channel.SMS]

    assert sms() == "13911110000"  # the register, through staffing's resolver
    assert sms(addresses={"sms": "13922220000"}) == "13922220000"  # the caller's, for this message
    preference_update(user=user, acting_user=user, mobile="13933330000")
    assert sms(addresses={"sms": "13922220000"}) == "13933330000"  # what the user typed


@pytest.mark.django_db
def test_switching_a_channel_writes_one_row_per_channel_and_audits_no_address(roles):
    user = make_user(Role.VILLAGE_DOCTOR, facility=FacilityFactory())
    assert channel_switches(user=user) == {"email": True, "sms": True, "wecom": True}
    preference_update(user=user, acting_user=user, email_enabled=False, sms_enabled=True, wecom_enabled=False, mobile="13800001111")
    assert set(ChannelPreference.objects.filter(user=user).values_list("channel", "enabled")) == {
        ("email", False), ("sms", True), ("wecom", False)
    }  # fmt: skip
    preference_update(user=user, acting_user=user, email_enabled=True)
    assert channel_switches(user=user) == {"email": True, "sms": True, "wecom": False}
    with pytest.raises(TypeError):
        preference_update(user=user, acting_user=user, fax_enabled=True)


@pytest.mark.django_db
def test_the_preference_page_and_api_list_every_registered_channel(client, roles, pager_channel):
    user = make_user(Role.VILLAGE_DOCTOR, facility=FacilityFactory())
    client.force_login(user)
    html = client.get(reverse("notifications:preferences")).content.decode()
    labels = ["通过邮件通知我", "通过短信通知我", "通过寻呼机通知我"]
    assert all(label in html for label in labels)
    assert [html.index(label) for label in labels] == sorted(html.index(label) for label in labels)  # the registry's order
    assert str(registry.channel(Channel.WECOM).preference_label) in html
    assert 'name="wecom_enabled"' in html and 'name="pager_enabled"' in html

    response = client.post(reverse("notifications:preferences"), {"pager_enabled": "on", "sms_enabled": "on"})
    assert response.status_code == 302
    assert channel_switches(user=user) == {"email": False, "sms": True, "wecom": False, "pager": True}
    assert api_as(user).get("/api/v1/notifications/preferences/").json()["pager_enabled"] is True


@pytest.mark.django_db(transaction=True)
def test_the_migration_carries_each_users_two_switches_over_and_back():
    executor = MigrationExecutor(connection)
    before, latest = ("notifications", "0003_bank_account_changed_kind"), ("notifications", "0006_remove_preference_switches")
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps
    User, Preference = old.get_model("auth", "User"), old.get_model("notifications", "NotificationPreference")
    choices = {"a": (True, True), "b": (False, True), "c": (True, False), "d": (False, False)}
    for name, (email, sms) in choices.items():
        Preference.objects.create(user=User.objects.create(username=f"carry_{name}"), email_enabled=email, sms_enabled=sms)

    executor = MigrationExecutor(connection)
    executor.migrate([latest])
    new = executor.loader.project_state([latest]).apps
    rows = new.get_model("notifications", "ChannelPreference").objects.values_list("user__username", "channel", "enabled")
    assert set(rows) == {
        (f"carry_{name}", channel, on)
        for name, (email, sms) in choices.items()
        for channel, on in (("email", email), ("sms", sms))
    }

    executor = MigrationExecutor(connection)
    executor.migrate([before])
    back = executor.loader.project_state([before]).apps.get_model("notifications", "NotificationPreference")
    assert {p.user.username: (p.email_enabled, p.sms_enabled) for p in back.objects.select_related("user")} == {
        f"carry_{name}": flags for name, flags in choices.items()
    }
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
