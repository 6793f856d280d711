"""Demo consultants with weekly availability (synthetic names, marked demo). The `consultant` demo
login becomes the 内科 consultant. Idempotent: running it again changes nothing."""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Department, Facility
from clinics.seeding import COUNTY_HOSPITAL_CODE, seed_note, seed_today
from telemedicine.exceptions import BookingConflict
from telemedicine.models import Consultant, ConsultBooking, Slot, WeeklyAvailability
from telemedicine.services.bookings import booking_confirm, booking_create, booking_decline
from telemedicine.services.patients import Patient
from telemedicine.services.slots import slots_materialise_horizon

# (department code at the county hospital, or "centre:<code>" for the first township centre),
# synthetic name, title, demo login to link
DEMO_CONSULTANTS = [
    ("IM", "黄明", "副主任医师", "consultant"),
    ("IM", "罗秀兰", "主治医师", None),
    ("PED", "韦建国", "主治医师", None),
    ("OBG", "陆春梅", "副主任医师", None),
    ("TCM", "岑德福", "主任医师", None),
    ("centre:GP", "李永强", "主治医师", None),
]
# weekday, start, end, slot minutes, places
WEEKLY_PATTERN = [
    *[(day, datetime.time(9, 0), datetime.time(11, 0), 20, 1) for day in range(5)],
    *[(day, datetime.time(15, 0), datetime.time(17, 0), 30, 2) for day in (1, 3)],
]
SEED_VALID_FROM = datetime.date(2026, 1, 1)


def _department(code: str) -> Department | None:
    if code.startswith("centre:"):
        centre = Facility.objects.filter(kind=Facility.Kind.TOWNSHIP_CENTRE, telemedicine_enabled=True).order_by("code").first()
        return Department.objects.filter(facility=centre, code=code.split(":", 1)[1]).first() if centre else None
    return Department.objects.filter(facility__code=COUNTY_HOSPITAL_CODE, code=code).first()


def _count(counts: dict, key: str, created: bool) -> None:
    counts.setdefault(key, {"created": 0, "existing": 0})
    counts[key]["created" if created else "existing"] += 1


@transaction.atomic
def seed_consultants(counts: dict) -> None:
    User = get_user_model()
    if not User.objects.filter(username="consultant").exists():
        # load_seeds creates the demo logins after the app steps; create them now (idempotent,
        # with a throwaway tally so load_seeds' own count stays right) to link the consultant.
        from staffing.seeding import seed_demo_logins

        seed_demo_logins({})
    for code, name, title, username in DEMO_CONSULTANTS:
        department = _department(code)
        if department is None:
            continue
        consultant, created = Consultant.objects.get_or_create(
            department=department, name=name, defaults={"title": title, "is_demo": True}
        )
        _count(counts, "consultant", created)
        if username and consultant.user_id is None:
            user = User.objects.filter(username=username).first()
            if user is not None and not Consultant.objects.filter(user=user).exists():
                consultant.user = user
                consultant.save(update_fields=["user"])
        for weekday, start, end, minutes, places in WEEKLY_PATTERN:
            _availability, created = WeeklyAvailability.objects.get_or_create(
                consultant=consultant,
                weekday=weekday,
                start_time=start,
                defaults={"end_time": end, "slot_minutes": minutes, "places": places, "valid_from": SEED_VALID_FROM},
            )
            _count(counts, "weekly availability", created)
    report = slots_materialise_horizon(today=seed_today(counts))
    counts.setdefault("teleconsult slot", {"created": 0, "existing": 0})
    counts["teleconsult slot"]["created"] += report.created


# The `village_doctor` login books these with the consultants (synthetic patients, marked demo):
# (consultant's name, days from the demo day, patient, sex, age, chief complaint, urgency, what the
# consultant does: only 黄明 has a login, the `consultant` one, to confirm or decline with)
DEMO_CONSULTS = [
    ("黄明", 1, "演示患者·韦大爷", "M", 72, "高血压控制不佳，近一周头晕（演示）", ConsultBooking.Urgency.ROUTINE, "confirm"),
    ("罗秀兰", 2, "演示患者·黄阿姨", "F", 64, "2型糖尿病，空腹血糖偏高，询问调药（演示）", ConsultBooking.Urgency.ROUTINE, ""),
    ("黄明", 3, "演示患者·小陆", "M", 9, "反复咳嗽两周，夜间加重（演示）", ConsultBooking.Urgency.URGENT, ""),
    ("岑德福", 6, "演示患者·罗奶奶", "F", 79, "膝关节疼痛，咨询中医调理（演示）", ConsultBooking.Urgency.ROUTINE, ""),
    ("黄明", 8, "演示患者·覃先生", "M", 55, "胸闷气短一月，心电图结果咨询（演示）", ConsultBooking.Urgency.ROUTINE, "decline"),
]
DEMO_CONSULT_MARK = "（演示）"


def seed_demo_consults(counts: dict) -> None:
    """Consults around the demo day, booked through the booking service by the `village_doctor`
    login: some confirmed by the consultant, some still waiting, one declined. A consult is booked
    for the first open slot on or after its day, so it must lie ahead of the clock (the service
    refuses a slot that has started); last run's consults are the past ones. Idempotent: while
    the doctor has demo consults still ahead, no new set is booked."""
    counts.setdefault("consult booking", {"created": 0, "existing": 0})
    user = get_user_model().objects.filter(username="village_doctor").select_related("doctor").first()
    doctor = getattr(user, "doctor", None) if user is not None else None
    if doctor is None:
        return
    now = timezone.now()
    mine = ConsultBooking.objects.filter(doctor=doctor, chief_complaint__endswith=DEMO_CONSULT_MARK)
    ahead = mine.filter(starts_at__gt=now).count()
    if ahead:
        counts["consult booking"]["existing"] += mine.count()
        return
    today = seed_today(counts)
    for name, days, patient, sex, age, complaint, urgency, then in DEMO_CONSULTS:
        consultant = Consultant.objects.filter(name=name, is_demo=True).select_related("user").first()
        if consultant is None:
            continue
        day_start = timezone.make_aware(datetime.datetime.combine(today + datetime.timedelta(days=days), datetime.time(0)))
        slot = (Slot.objects.filter(consultant=consultant, starts_at__gte=max(day_start, now), is_withdrawn=False,
                                    booked__lt=models.F("places")).order_by("starts_at").first())
        if slot is None:
            continue
        try:
            with transaction.atomic():
                booking = booking_create(slot_id=slot.pk, acting_user=user, patient=Patient(name=patient, sex=sex, age=age),
                                         chief_complaint=complaint, urgency=urgency, mode=ConsultBooking.Mode.VIDEO)
                if then == "confirm" and consultant.user is not None:
                    booking_confirm(booking=booking, acting_user=consultant.user)
                elif then == "decline" and consultant.user is not None:
                    booking_decline(booking=booking, reason="该时段需值急诊，请改约其他专家（演示）", acting_user=consultant.user)
        except (ValidationError, BookingConflict) as refused:
            seed_note(counts, _("A demo consult with %(consultant)s was not booked: %(reason)s")
                      % {"consultant": name, "reason": "；".join(getattr(refused, "messages", None) or [str(refused)])})
            continue
        counts["consult booking"]["created"] += 1
