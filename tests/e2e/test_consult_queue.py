"""The consultant's queue on a phone: requests of several days, oldest first, answered there
(confirm, decline with a reason); a confirmed consult no longer offers 拒绝."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from telemedicine.models import ConsultBooking, Slot
from telemedicine.services.bookings import booking_create
from telemedicine.services.patients import Patient
from telemedicine.services.slots import slots_materialise
from tests.e2e.conftest import PHONE, follow, login
from tests.e2e.test_teleconsult import SHANGHAI, consult_shot, no_sideways_scroll
from tests.e2e.test_teleconsult import network as network  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_consultant_answers_requests_from_the_queue(live_server, phone, network):
    consultant, doctor_user = network
    with time_machine.travel(datetime.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI), tick=True) as clock:
        slots_materialise(start=datetime.date(2026, 12, 2), end=datetime.date(2026, 12, 16))
        by_day = {}
        for slot in Slot.objects.order_by("-starts_at"):  # one slot on each of three Wednesdays, the latest asked for first
            by_day.setdefault(timezone.localdate(slot.starts_at), slot)
        slots = list(by_day.values())
        asked = []
        for slot, name in zip(slots[:3], ["罗阿婆", "黄大爷", "韦小妹"], strict=True):
            asked.append(booking_create(slot_id=slot.pk, acting_user=doctor_user, patient=Patient(name=name, sex="F", age=60),
                                        chief_complaint="头晕乏力两周"))
            clock.shift(datetime.timedelta(minutes=3))

        login(phone, live_server.url, "huangming")
        follow(phone, "a[data-menu=teleconsult_queue]")
        order = phone.eval_on_selector_all("#pending [data-booking]", "els => els.map(e => Number(e.dataset.booking))")
        assert order == [b.pk for b in asked]  # oldest request first, across days
        assert len({timezone.localdate(b.starts_at) for b in asked}) == 3
        assert "12月16日" in phone.inner_text(f"[data-booking='{asked[0].pk}']") and "12月2日" in phone.inner_text(f"[data-booking='{asked[2].pk}']")
        no_sideways_scroll(phone)
        consult_shot(phone, "consult-03-queue-pending")

        follow(phone, f"#confirm-{asked[0].pk}")
        assert phone.url.endswith("/m/consult/queue/")
        assert phone.locator(f"#upcoming [data-booking='{asked[0].pk}']").count() == 1
        assert phone.locator(f"#decline-{asked[0].pk}").count() == 0  # no 拒绝 once confirmed
        phone.fill(f"#decline-reason-{asked[1].pk}", "病情较急，请直接到县医院急诊")
        follow(phone, f"#decline-{asked[1].pk}")
        assert phone.locator(f"[data-booking='{asked[1].pk}']").count() == 0
        no_sideways_scroll(phone)
        consult_shot(phone, "consult-04-queue-after-confirm-decline")

        follow(phone, f"#upcoming [data-booking='{asked[0].pk}'] a")
        assert phone.locator("#decline").count() == 0 and phone.locator("#patient-history").count() == 1
        consult_shot(phone, "consult-05-confirmed-detail-no-decline")

    statuses = dict(ConsultBooking.objects.values_list("pk", "status"))
    assert statuses == {asked[0].pk: "confirmed", asked[1].pk: "declined", asked[2].pk: "requested"}
    assert PHONE["width"] == 390
