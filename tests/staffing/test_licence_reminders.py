import datetime

import pytest

from clinics.models import Role
from notifications.models import Notification
from notifications.reminders import run_scanners
from tests.factories import PostingFactory, make_user

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 29)


def doctor_with_login(expiry):
    posting = PostingFactory(doctor__licence_expiry=expiry)
    make_user(Role.VILLAGE_DOCTOR, doctor=posting.doctor)
    return posting.doctor


def test_licence_reminders_at_90_and_30_days_queued_once(roles):
    in_60 = doctor_with_login(TODAY + datetime.timedelta(days=60))
    in_20 = doctor_with_login(TODAY + datetime.timedelta(days=20))
    later = doctor_with_login(TODAY + datetime.timedelta(days=200))

    for offset in range(3):  # daily runs (and a rerun) queue nothing twice: the due time is fixed
        run_scanners(today=TODAY + datetime.timedelta(days=offset))
    run_scanners(today=TODAY)

    rows = Notification.objects.filter(kind__startswith="licence_expiring", channel="in_app")
    assert rows.filter(recipient=in_60.user, kind="licence_expiring_90").count() == 1
    assert rows.filter(recipient=in_20.user, kind="licence_expiring_30").count() == 1
    assert not rows.filter(recipient=later.user).exists()
    body = rows.get(recipient=in_20.user).body
    assert in_20.licence_number in body and "到期" in body
