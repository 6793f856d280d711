"""The phone pages of issue 17: the booking date (ISO, defaulting to the first day with free
slots, searchable without a date), the consultant's queue across days with its answers, the steps
a page offers by state, the room staying open while the consult runs, the patient's earlier
consults within reach, and no slots for a year without a holiday calendar."""

import datetime
import re

import pytest

from clinics.models import Role
from core.models import AuditEntry
from staffing.rosters.models import CalendarYear
from telemedicine.models import BookingEvent, ConsultBooking, ConsultOutcome, Slot
from telemedicine.selectors import consultant_queue, first_open_day, open_slot_list, patient_history, room_access
from telemedicine.services.flow import booking_actions
from telemedicine.services.slots import slots_materialise
from tests.conftest import api_as
from tests.factories import make_user
from tests.telemedicine.conftest import TOMORROW
from tests.telemedicine.factories import booking_payload, consultant_with_login, make_slot, village_doctor, weekly

URL = "/api/v1/teleconsult/bookings/"
pytestmark = pytest.mark.django_db
Status = ConsultBooking.Status


def book(user, slot, **overrides) -> ConsultBooking:
    response = api_as(user).post(URL, booking_payload(slot, **overrides), format="json")
    assert response.status_code == 201, response.content
    return ConsultBooking.objects.get(pk=response.json()["id"])


def date_value(page: str) -> str:
    return re.search(r'<input type="date" name="date" value="([^"]*)"', page).group(1)


# --- The booking date ---------------------------------------------------------------------------


def test_the_date_field_is_iso_and_defaults_to_the_first_day_with_free_slots(client, doctor_user, consultant, clock):
    weekly(consultant, 3, "09:00", "10:00")  # Thursdays: the first is 3 December
    client.force_login(doctor_user)
    page = client.get("/m/consult/book/").content.decode()
    assert date_value(page) == "2026-12-03"  # yyyy-MM-dd, as <input type="date"> needs
    assert "2026/12/03" not in page


def test_every_date_input_renders_iso(client, doctor_user, consultant, clock):
    """The project's formats put ISO first, so any DateInput (the booking form's birth date too)
    renders yyyy-MM-dd, and yyyy/MM/dd is still read."""
    from django import forms

    class Probe(forms.Form):
        day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    assert 'value="2026-12-02"' in str(Probe(initial={"day": TOMORROW})["day"])
    assert Probe({"day": "2026/12/02"}).is_valid()


def test_searching_without_a_date_takes_the_first_day_with_free_slots(client, doctor_user, consultant, clock):
    weekly(consultant, 4, "09:00", "09:40")  # Fridays: 4 December
    client.force_login(doctor_user)
    page = client.get("/m/consult/book/", {"department": consultant.department_id, "date": ""}).content.decode()
    assert date_value(page) == "2026-12-04"
    assert page.count("data-slot=") == 2


def test_the_page_opens_with_the_first_free_days_slots_of_every_department(client, doctor_user, consultant, clock):
    """Nothing picked: the date holds the first day with a free slot and its slots are listed, of
    every department (each row names its department); choosing one narrows the list."""
    weekly(consultant, 4, "09:00", "09:40")  # Fridays: 4 December
    other = consultant_with_login(username="dr_peds")
    weekly(other, 4, "10:00", "10:20")
    client.force_login(doctor_user)
    page = client.get("/m/consult/book/").content.decode()
    assert date_value(page) == "2026-12-04"
    assert page.count("data-slot=") == 3 and page.count("data-department") == 3
    assert "2026年12月4日" in page  # the listed day named in words, whatever the browser shows in the field
    assert other.department.name in page and consultant.department.name in page
    narrowed = client.get("/m/consult/book/", {"department": consultant.department_id, "date": "2026-12-04"}).content.decode()
    assert narrowed.count("data-slot=") == 2 and "data-department" not in narrowed


def test_with_no_free_slot_anywhere_the_page_says_so_and_keeps_a_date(client, doctor_user, consultant, clock):
    client.force_login(doctor_user)
    response = client.get("/m/consult/book/")
    assert response.status_code == 200 and date_value(response.content.decode()) == "2026-12-01"
    from django.utils.translation import gettext

    said = gettext("No open slots in any department in the coming %(days)s days.") % {"days": 28}
    assert response.context["form"].errors["date"] == [said] and "data-slot=" not in response.content.decode()


def test_a_year_without_a_calendar_is_named_on_the_first_visit(client, doctor_user, consultant, clock, settings):
    settings.TELECONSULT_SLOT_HORIZON_DAYS = 60
    weekly(consultant, 4, "09:00", "10:00", valid_from=datetime.date(2027, 1, 1))  # slots only in 2027
    client.force_login(doctor_user)
    response = client.get("/m/consult/book/")
    assert response.status_code == 200
    assert any("2027" in e for e in response.context["form"].errors["date"])
    assert "data-slot=" not in response.content.decode()


def test_a_full_day_is_skipped(consultant, doctor_user, clock):
    weekly(consultant, 2, "09:00", "09:20")
    weekly(consultant, 3, "09:00", "09:20")
    assert first_open_day(department_id=consultant.department_id).day == TOMORROW
    book(doctor_user, Slot.objects.get())
    assert first_open_day(department_id=consultant.department_id).day == TOMORROW + datetime.timedelta(days=1)


def test_the_search_forward_is_bounded(consultant, clock, settings):
    settings.TELECONSULT_SLOT_HORIZON_DAYS = 5
    weekly(consultant, 2, valid_from=datetime.date(2026, 12, 9))  # a Wednesday 8 days ahead
    assert first_open_day(department_id=consultant.department_id).day is None  # past the horizon: not searched
    settings.TELECONSULT_SLOT_HORIZON_DAYS = 10
    assert first_open_day(department_id=consultant.department_id).day == datetime.date(2026, 12, 9)


# --- Holiday calendar year ----------------------------------------------------------------------


def test_no_slots_in_a_year_without_a_holiday_calendar(consultant, clock, settings):
    settings.TELECONSULT_SLOT_HORIZON_DAYS = 60
    weekly(consultant, 4, "09:00", "10:00")  # 1 January 2027 is a Friday
    new_year = datetime.date(2027, 1, 1)
    report = slots_materialise(start=datetime.date(2026, 12, 31), end=new_year)
    assert report.missing_calendar_years == [2027]
    assert not Slot.objects.filter(starts_at__year=2027).exists()
    with pytest.raises(Exception) as refused:
        list(open_slot_list(department_id=consultant.department_id, day=new_year))
    assert refused.value.code == "calendar_missing" and "2027" in str(refused.value.messages)
    CalendarYear.objects.create(year=2027)
    assert len(list(open_slot_list(department_id=consultant.department_id, day=new_year))) == 3


def test_the_search_page_names_the_year_to_load(client, doctor_user, consultant, clock):
    client.force_login(doctor_user)
    response = client.get("/m/consult/book/", {"department": consultant.department_id, "date": "2027-01-01"})
    assert response.status_code == 200
    errors = response.context["form"].errors["date"]
    assert any("2027" in e for e in errors)


def test_the_search_forward_stops_at_a_year_without_a_calendar(consultant, clock, settings):
    settings.TELECONSULT_SLOT_HORIZON_DAYS = 60
    weekly(consultant, 4, "09:00", "10:00", valid_from=datetime.date(2027, 1, 1))
    found = first_open_day(department_id=consultant.department_id)
    assert found.day is None and found.missing_calendar_year == 2027


def test_booking_a_slot_already_made_in_such_a_year_is_refused(doctor_user, consultant, clock, settings):
    settings.TELECONSULT_SLOT_HORIZON_DAYS = 60
    slot = make_slot(consultant, datetime.date(2027, 1, 4), 9)
    response = api_as(doctor_user).post(URL, booking_payload(slot), format="json")
    assert response.status_code == 400 and "2027" in str(response.json())
    assert not ConsultBooking.objects.exists()


# --- Steps offered by state ---------------------------------------------------------------------


def test_actions_follow_the_state_and_the_side(doctor_user, consultant, slot, clock):
    booking = book(doctor_user, slot)
    assert booking_actions(booking, consultant.user) == {"confirm", "decline", "cancel"}
    assert booking_actions(booking, doctor_user) == {"cancel", "reschedule"}
    assert booking_actions(booking, village_doctor(username="vd_other")) == set()
    booking.status = Status.CONFIRMED
    assert booking_actions(booking, consultant.user) == {"cancel"}  # no decline after confirming; start not yet
    assert booking_actions(booking, consultant.user, now=booking.starts_at) == {"start"}  # too late to cancel
    booking.status = Status.IN_PROGRESS
    assert booking_actions(booking, consultant.user, now=booking.starts_at) == {"complete"}
    assert booking_actions(booking, doctor_user, now=booking.starts_at) == set()
    for final in (Status.COMPLETED, Status.DECLINED, Status.CANCELLED, Status.NO_SHOW):
        booking.status = final
        assert booking_actions(booking, consultant.user) == booking_actions(booking, doctor_user) == set()


def test_a_confirmed_consult_is_no_longer_declined(doctor_user, consultant, slot, clock, client):
    booking = book(doctor_user, slot)
    api_as(consultant.user).post(f"{URL}{booking.pk}/confirm/")
    client.force_login(consultant.user)
    page = client.get(f"/m/consult/{booking.pk}/").content.decode()
    assert f"/m/consult/{booking.pk}/decline/" not in page and f"/m/consult/{booking.pk}/cancel/" in page
    response = api_as(consultant.user).post(f"{URL}{booking.pk}/decline/", {"reason": "改期"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


# --- The consultant's queue ---------------------------------------------------------------------


@pytest.fixture
def queue_bookings(doctor_user, consultant, clock):
    """Requests made at different times for different days, one confirmed, one of another consultant."""
    later_day, first_day = TOMORROW + datetime.timedelta(days=5), TOMORROW
    early_request = book(doctor_user, make_slot(consultant, later_day, 9), patient_name="甲")  # asked first, for a later day
    clock.shift(datetime.timedelta(minutes=5))
    late_request = book(doctor_user, make_slot(consultant, first_day, 10), patient_name="乙")
    confirmed_later = book(doctor_user, make_slot(consultant, later_day, 11), patient_name="丙")
    confirmed_sooner = book(doctor_user, make_slot(consultant, first_day, 14), patient_name="丁")
    for booking in (confirmed_later, confirmed_sooner):
        assert api_as(consultant.user).post(f"{URL}{booking.pk}/confirm/").status_code == 200
    done = book(doctor_user, make_slot(consultant, first_day, 15), patient_name="戊")
    api_as(consultant.user).post(f"{URL}{done.pk}/decline/", {"reason": "请到急诊"}, format="json")
    other = consultant_with_login(department=consultant.department, username="dr_other_queue")
    book(doctor_user, make_slot(other, first_day, 9), patient_name="己")
    return early_request, late_request, confirmed_sooner, confirmed_later


def test_the_queue_holds_pending_oldest_first_and_upcoming_soonest_first(consultant, queue_bookings):
    early_request, late_request, confirmed_sooner, confirmed_later = queue_bookings
    queue = consultant_queue(user=consultant.user)
    assert [b.pk for b in queue.pending] == [early_request.pk, late_request.pk]
    assert [b.pk for b in queue.upcoming] == [confirmed_sooner.pk, confirmed_later.pk]


def test_the_queue_drops_what_time_has_overtaken(consultant, queue_bookings, clock):
    _early, late_request, confirmed_sooner, _later = queue_bookings
    clock.move_to(confirmed_sooner.ends_at + datetime.timedelta(minutes=31))  # past the slot and the grace
    queue = consultant_queue(user=consultant.user)
    assert late_request.pk not in [b.pk for b in queue.pending]
    assert confirmed_sooner.pk not in [b.pk for b in queue.upcoming]


def test_the_queue_page_confirms_and_declines_there(client, consultant, queue_bookings):
    early_request, late_request, confirmed_sooner, _later = queue_bookings
    client.force_login(consultant.user)
    page = client.get("/m/consult/queue/").content.decode()
    assert page.index(f'data-booking="{early_request.pk}"') < page.index(f'data-booking="{late_request.pk}"')
    assert f"/m/consult/{early_request.pk}/confirm/" in page and f"/m/consult/{early_request.pk}/decline/" in page
    assert f"/m/consult/{confirmed_sooner.pk}/confirm/" not in page and f"/m/consult/{confirmed_sooner.pk}/decline/" not in page

    response = client.post(f"/m/consult/{early_request.pk}/confirm/", {"next": "/m/consult/queue/"})
    assert response.status_code == 302 and response["Location"] == "/m/consult/queue/"
    response = client.post(f"/m/consult/{late_request.pk}/decline/", {"next": "/m/consult/queue/", "reason": "请到县医院急诊"})
    assert response.status_code == 302 and response["Location"] == "/m/consult/queue/"
    early_request.refresh_from_db()
    late_request.refresh_from_db()
    assert (early_request.status, late_request.status) == (Status.CONFIRMED, Status.DECLINED)
    assert late_request.decline_reason == "请到县医院急诊"
    assert BookingEvent.objects.filter(booking=early_request, kind="confirmed", actor=consultant.user).exists()
    assert AuditEntry.objects.filter(action="teleconsult.booking.declined", object_id=str(late_request.pk)).exists()
    # a second answer from a stale page: the state is checked on the server, nothing changes
    client.post(f"/m/consult/{late_request.pk}/confirm/", {"next": "/m/consult/queue/"})
    late_request.refresh_from_db()
    assert late_request.status == Status.DECLINED
    assert BookingEvent.objects.filter(booking=late_request).count() == 2


def test_the_queue_needs_post_csrf_and_a_consultant(consultant, queue_bookings, doctor_user):
    from django.test import Client

    early_request = queue_bookings[0]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(consultant.user)
    assert strict.post(f"/m/consult/{early_request.pk}/confirm/").status_code == 403
    assert strict.get(f"/m/consult/{early_request.pk}/confirm/").status_code == 405
    early_request.refresh_from_db()
    assert early_request.status == Status.REQUESTED
    strict.force_login(doctor_user)
    assert strict.get("/m/consult/queue/").status_code == 403


def test_another_consultant_cannot_answer_from_the_queue(client, consultant, queue_bookings, clock):
    early_request = queue_bookings[0]
    client.force_login(ConsultBooking.objects.get(patient_name="己").consultant.user)
    assert client.post(f"/m/consult/{early_request.pk}/confirm/", {"next": "/m/consult/queue/"}).status_code == 404
    early_request.refresh_from_db()
    assert early_request.status == Status.REQUESTED


def test_the_queue_is_a_consultant_tile(client, consultant):
    client.force_login(consultant.user)
    page = client.get("/m/").content.decode()
    assert 'data-menu="teleconsult_queue"' in page and "/m/consult/queue/" in page


# --- The room while the consult runs ----------------------------------------------------------


def test_the_room_stays_open_while_in_progress_up_to_the_limit(settings, doctor_user, consultant, slot, clock):
    settings.JITSI_BASE_URL = "https://meet.leye-health.cn"
    settings.JITSI_APP_SECRET = "x" * 40
    settings.TELECONSULT_ROOM_OVERRUN_MINUTES = 40
    booking = book(doctor_user, slot)
    api_as(consultant.user).post(f"{URL}{booking.pk}/confirm/")
    booking.refresh_from_db()
    after_end = booking.ends_at + datetime.timedelta(minutes=1)
    assert room_access(booking, user=doctor_user, now=after_end).state == "closed"  # confirmed, never started
    clock.move_to(booking.starts_at)
    api_as(consultant.user).post(f"{URL}{booking.pk}/start/")
    booking.refresh_from_db()
    running = room_access(booking, user=doctor_user, now=after_end)
    assert running.state == "open" and running.overrun and running.url
    assert running.closes_at == booking.ends_at + datetime.timedelta(minutes=40)
    assert room_access(booking, user=doctor_user, now=booking.ends_at + datetime.timedelta(minutes=40)).state == "closed"


# --- The patient's earlier consults ---------------------------------------------------------


def _complete(consultant, booking, clock, findings):
    clock.move_to(booking.starts_at)
    api_as(consultant.user).post(f"{URL}{booking.pk}/confirm/")
    api_as(consultant.user).post(f"{URL}{booking.pk}/start/")
    response = api_as(consultant.user).post(
        f"{URL}{booking.pk}/complete/", {"findings": findings, "advice": "低盐饮食，按时服药"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_history_within_reach(client, doctor_user, consultant, clock):
    clinic = doctor_user.scope.facility
    colleague = village_doctor(username="vd_colleague", facility=clinic)
    other_consultant = consultant_with_login(department=consultant.department, username="dr_other_hist")
    stranger = village_doctor(username="vd_far")
    same_patient = {"patient_id_number": "451028196001010023", "patient_name": "韦小兰", "patient_sex": "F", "patient_age": None,
                    "patient_birth_date": "1960-01-01"}

    first = book(colleague, make_slot(consultant, TOMORROW, 9), **same_patient)  # booked by a colleague at the clinic
    _complete(consultant, first, clock, "血压 170/100")
    second = book(doctor_user, make_slot(other_consultant, TOMORROW + datetime.timedelta(days=1), 9), **same_patient)
    _complete(other_consultant, second, clock, "血压 150/95")
    elsewhere = book(stranger, make_slot(consultant, TOMORROW + datetime.timedelta(days=2), 9), **same_patient)  # another clinic
    _complete(consultant, elsewhere, clock, "另一卫生室")
    book(doctor_user, make_slot(consultant, TOMORROW + datetime.timedelta(days=3), 10), patient_name="别人", patient_age=40)
    current = book(doctor_user, make_slot(consultant, TOMORROW + datetime.timedelta(days=4), 9), **same_patient)

    assert [b.pk for b in patient_history(user=doctor_user, booking=current)] == [second.pk, first.pk]  # the clinic's
    assert [b.pk for b in patient_history(user=consultant.user, booking=current)] == [elsewhere.pk, first.pk]  # theirs
    assert [b.pk for b in patient_history(user=other_consultant.user, booking=current)] == [second.pk]  # the one they held
    assert [b.pk for b in patient_history(user=other_consultant.user, booking=second)] == []
    township_admin = make_user(Role.TOWNSHIP_ADMIN, township=clinic.township, username="tadmin_hist")
    assert {b.pk for b in patient_history(user=township_admin, booking=current)} == {first.pk, second.pk}

    client.force_login(doctor_user)
    page = client.get(f"/m/consult/{current.pk}/").content.decode()
    assert f'data-history="{first.pk}"' in page and f'data-history="{second.pk}"' in page
    assert f'data-history="{elsewhere.pk}"' not in page and "另一卫生室" not in page
    assert "血压 170/100" in page and "血压 150/95" in page  # the outcomes, even of the colleague's booking
    assert f"/m/consult/{second.pk}/" in page and f"/m/consult/{first.pk}/\"" not in page  # a link only where the doctor may open it
    assert ConsultOutcome.objects.count() == 3


def test_no_history_for_a_new_patient(client, doctor_user, consultant, slot, clock):
    booking = book(doctor_user, slot)
    client.force_login(consultant.user)
    assert 'id="no-history"' in client.get(f"/m/consult/{booking.pk}/").content.decode()
