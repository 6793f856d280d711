"""The holiday calendar is county-wide data: only a county-wide role (or the system) loads,
reloads, imports or edits it, in the services and in the admin; and a year outside the calendar's
range (CalendarYear's constraint) is a bad import row, never a 500."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clinics.models import Role
from clinics.scoping import OUT_OF_REACH
from core.models import AuditEntry
from staffing.rosters import holidays
from staffing.rosters.models import CalendarYear, HolidayDay
from staffing.rosters.services import holidays as holiday_services
from tests.factories import TownshipFactory, make_user

pytestmark = pytest.mark.django_db

CSV_2027 = "date,kind,name\n2027-01-01,holiday,元旦\n".encode()


@pytest.fixture
def people(roles):
    township = TownshipFactory(name="甲乡")
    return {
        "township_admin": make_user(Role.TOWNSHIP_ADMIN, township=township, username="ta_cal"),
        "county": make_user(Role.COUNTY_ADMIN, username="county_cal"),
    }


@pytest.fixture
def loaded_2026(db):
    year, _loaded = holiday_services.holiday_year_load(year=2026)
    return year


def _codes(exc: ValidationError) -> set:
    return {e.code for e in exc.error_list}


# --- services ---------------------------------------------------------------------------------


def test_township_admin_cannot_load_reload_or_import(people, loaded_2026):
    admin = people["township_admin"]
    before = loaded_2026.loaded_at
    with pytest.raises(ValidationError) as load:
        holiday_services.holiday_year_load(year=2026, acting_user=admin, replace=True)
    assert OUT_OF_REACH in _codes(load.value)
    with pytest.raises(ValidationError):
        holiday_services.holiday_year_load(year=2025, acting_user=admin)
    with pytest.raises(ValidationError):
        holiday_services.holiday_years_load_all(acting_user=admin)
    with pytest.raises(ValidationError) as imported:
        holiday_services.holiday_calendar_import(upload=CSV_2027, filename="2027.csv", acting_user=admin)
    assert OUT_OF_REACH in _codes(imported.value)
    assert CalendarYear.objects.get(pk=loaded_2026.pk).loaded_at == before
    assert not CalendarYear.objects.filter(year__in=[2025, 2027]).exists()
    assert not AuditEntry.objects.filter(actor=admin).exists()


def test_township_admin_cannot_edit_days_or_years_through_the_services(people, loaded_2026):
    admin = people["township_admin"]
    day = HolidayDay.objects.filter(date__year=2026).first()
    day.name = "改过的"
    with pytest.raises(ValidationError):
        holiday_services.holiday_day_save(day=day, acting_user=admin, change=True)
    with pytest.raises(ValidationError):
        holiday_services.holiday_day_delete(day=HolidayDay.objects.get(pk=day.pk), acting_user=admin)
    with pytest.raises(ValidationError):
        holiday_services.calendar_year_delete(year=loaded_2026, acting_user=admin)
    assert HolidayDay.objects.get(pk=day.pk).name != "改过的"
    assert CalendarYear.objects.filter(pk=loaded_2026.pk).exists()


def test_county_admin_and_the_system_may_load_and_import(people):
    county = people["county"]
    year, loaded = holiday_services.holiday_year_load(year=2026, acting_user=county)
    assert loaded and year.year == 2026
    assert AuditEntry.objects.filter(actor=county, action="holidays.load").exists()
    report = holiday_services.holiday_calendar_import(upload=CSV_2027, filename="2027.csv", acting_user=county)
    assert report.ok and report.years == [2027]
    assert holiday_services.holiday_year_load(year=2025)[1]  # acting_user=None: seeds and commands


# --- the year range ---------------------------------------------------------------------------


def test_the_year_range_comes_from_the_model_constraint():
    constraint = next(c for c in CalendarYear._meta.constraints if c.name == "calendar_year_in_range")
    assert dict(constraint.condition.children) == {"year__gte": 2000, "year__lte": 2100}
    assert holidays.calendar_year_range() == (2000, 2100)


@pytest.mark.parametrize("date", ["9999-12-31", "1999-12-31", "2101-01-01"])
def test_import_refuses_a_year_outside_the_range_with_its_row_and_the_range(people, date):
    data = f"date,kind,name\n2027-01-01,holiday,元旦\n{date},holiday,x\n".encode()
    report = holiday_services.holiday_calendar_import(upload=data, filename="h.csv", acting_user=people["county"])
    assert not report.ok
    assert [number for number, _reason in report.errors] == [3]
    reason = report.errors[0][1]
    assert date[:4] in reason and "2000" in reason and "2100" in reason
    assert not HolidayDay.objects.exists()  # all or nothing: the good 2027 row is not saved either
    assert not CalendarYear.objects.exists()


def test_the_range_edges_are_accepted(people):
    data = b"date,kind,name\n2000-01-01,holiday,x\n2100-12-31,holiday,y\n"
    report = holiday_services.holiday_calendar_import(upload=data, filename="h.csv", acting_user=people["county"])
    assert report.ok and report.years == [2000, 2100]


def test_a_hand_entered_day_outside_the_range_is_refused(people):
    day = HolidayDay(date=datetime.date(2150, 1, 1), kind=HolidayDay.Kind.HOLIDAY, name="x")
    with pytest.raises(ValidationError) as exc:
        holiday_services.holiday_day_save(day=day, acting_user=people["county"], change=False)
    assert "date" in exc.value.message_dict
    assert not HolidayDay.objects.exists()


# --- admin ------------------------------------------------------------------------------------


def test_the_reload_action_is_not_offered_to_a_township_admin(client, people, loaded_2026):
    client.force_login(people["township_admin"])
    url = reverse("admin:rosters_calendaryear_changelist")
    page = client.get(url)
    assert page.status_code == 200  # the calendar is readable
    assert b"reload_from_package" not in page.content
    client.force_login(people["county"])
    assert b"reload_from_package" in client.get(url).content


def test_a_township_admin_posting_the_reload_action_gets_a_message_and_nothing_changes(client, people, loaded_2026):
    before = loaded_2026.loaded_at
    client.force_login(people["township_admin"])
    url = reverse("admin:rosters_calendaryear_changelist")
    response = client.post(
        url, {"action": "reload_from_package", "_selected_action": [str(loaded_2026.pk)], "index": "0"}
    )
    assert response.status_code == 302
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    assert CalendarYear.objects.get(pk=loaded_2026.pk).loaded_at == before
    assert not AuditEntry.objects.filter(actor=people["township_admin"]).exists()


def test_county_admin_reloads_from_the_admin(client, people, loaded_2026):
    client.force_login(people["county"])
    url = reverse("admin:rosters_calendaryear_changelist")
    response = client.post(
        url, {"action": "reload_from_package", "_selected_action": [str(loaded_2026.pk)], "index": "0"}
    )
    assert response.status_code == 302
    assert CalendarYear.objects.get(pk=loaded_2026.pk).loaded_at > loaded_2026.loaded_at
    assert AuditEntry.objects.filter(actor=people["county"], action="holidays.load").exists()


def test_township_admin_cannot_import_from_the_admin(client, people):
    client.force_login(people["township_admin"])
    client.raise_request_exception = False
    url = reverse("admin:rosters_calendaryear_import")
    assert client.get(url).status_code == 403
    response = client.post(url, {"file": SimpleUploadedFile("h.csv", CSV_2027, content_type="text/csv")})
    assert response.status_code == 403
    assert not HolidayDay.objects.exists()


def test_admin_import_with_an_impossible_year_shows_the_row(client, people):
    client.force_login(people["county"])
    client.raise_request_exception = False
    data = b"date,kind,name\n9999-12-31,holiday,x\n"
    response = client.post(
        reverse("admin:rosters_calendaryear_import"),
        {"file": SimpleUploadedFile("h.csv", data, content_type="text/csv")},
    )
    assert response.status_code == 200
    assert response.context["report"].errors[0][0] == 2
    assert not CalendarYear.objects.exists()


def test_township_admin_cannot_add_change_or_delete_holiday_days(client, people, loaded_2026):
    day = HolidayDay.objects.filter(date__year=2026).first()
    client.force_login(people["township_admin"])
    client.raise_request_exception = False
    add = reverse("admin:rosters_holidayday_add")
    change = reverse("admin:rosters_holidayday_change", args=[day.pk])
    delete = reverse("admin:rosters_holidayday_delete", args=[day.pk])
    changelist = reverse("admin:rosters_holidayday_changelist")
    assert client.get(add).status_code == 403
    assert client.post(add, {"date": "2026-03-03", "kind": "holiday", "name": "假"}).status_code == 403
    assert client.post(change, {"date": day.date.isoformat(), "kind": day.kind, "name": "改过的"}).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    response = client.post(changelist, {"action": "delete_selected", "_selected_action": [str(day.pk)], "post": "yes"})
    assert response.status_code in (200, 302)
    assert b"delete_selected" not in client.get(changelist).content
    assert HolidayDay.objects.get(pk=day.pk).name == day.name
    assert not HolidayDay.objects.filter(date=datetime.date(2026, 3, 3)).exists()
    assert not AuditEntry.objects.filter(actor=people["township_admin"]).exists()


def test_township_admin_cannot_change_or_delete_calendar_years(client, people, loaded_2026):
    client.force_login(people["township_admin"])
    client.raise_request_exception = False
    change = reverse("admin:rosters_calendaryear_change", args=[loaded_2026.pk])
    delete = reverse("admin:rosters_calendaryear_delete", args=[loaded_2026.pk])
    assert client.post(change, {"year": "2026", "source": "admin", "note": "x"}).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:rosters_calendaryear_add")).status_code == 403
    assert CalendarYear.objects.get(pk=loaded_2026.pk).note == loaded_2026.note


def test_county_admin_edits_days_in_the_admin_audited_and_in_range(client, people, loaded_2026):
    client.force_login(people["county"])
    add = reverse("admin:rosters_holidayday_add")
    response = client.post(add, {"date": "2150-01-01", "kind": "holiday", "name": "x"})
    assert response.status_code == 200
    assert "date" in response.context["adminform"].form.errors
    assert not HolidayDay.objects.filter(date__year=2150).exists()
    response = client.post(add, {"date": "2026-03-03", "kind": "holiday", "name": "假"})
    assert response.status_code == 302
    day = HolidayDay.objects.get(date=datetime.date(2026, 3, 3))
    assert AuditEntry.objects.filter(actor=people["county"], action="holiday.add", object_id=str(day.pk)).exists()
    response = client.post(reverse("admin:rosters_holidayday_delete", args=[day.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not HolidayDay.objects.filter(pk=day.pk).exists()
    assert AuditEntry.objects.filter(actor=people["county"], action="holiday.delete", object_id=str(day.pk)).exists()


def test_holiday_days_list_names_the_weekday_in_chinese(client, people, loaded_2026):
    client.force_login(people["county"])
    page = client.get(reverse("admin:rosters_holidayday_changelist"), {"date__year": 2026}).content.decode()
    # 2026-10-01 (国庆节) is a Thursday.
    assert "星期四" in page
    assert not any(f">{day}<" in page for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
