"""Publish a month: its drafts become the roster doctors work to, and each doctor is told.
A published month changes only through leave, swaps and cover (each an amendment)."""

import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Township
from core.months import month_start
from staffing.models import Doctor, Posting
from staffing.rosters.models import ROSTER_FLOW, DutyDay, RosterMonth
from staffing.rosters.services.notices import duty_link, notify_doctor
from staffing.rosters.services.reach import acting_user_or_none, check_can_publish
from staffing.services.postings import register_posting_end_guard


@transaction.atomic
def roster_publish(*, month: datetime.date, township: Township | None = None, acting_user) -> int:
    """Publish the month's draft rosters of a township (or the whole county) and notify the
    doctors. Returns how many rosters were published. A month whose rosters are all published
    already is a conflict (409); a month with no roster at all is refused as bad input."""
    month = month_start(month)
    check_can_publish(acting_user, township=township)
    rosters = RosterMonth.objects.filter(month=month)
    if township is not None:
        rosters = rosters.filter(facility__township=township)
    published = ROSTER_FLOW.bulk_transition(
        rosters.select_related("facility"),
        to=RosterMonth.Status.PUBLISHED,
        kind="publish",
        actor=acting_user,
        fields={"published_at": timezone.now(), "published_by": acting_user_or_none(acting_user)},
        audit_changes={"month": month.isoformat()},
    )
    if not published:
        already = rosters.first()
        if already is not None:
            ROSTER_FLOW.check(already, RosterMonth.Status.PUBLISHED)
        raise ValidationError(
            _("There is no draft roster for %(month)s to publish: generate the month first.") % {"month": f"{month:%Y-%m}"}
        )
    _refresh_statistics(len(published))
    _notify_published(rosters=published, month=month)
    return len(published)


# A publish of at least this many rosters (a county's or a province's month) refreshes the roster
# table's statistics in the same transaction (PostgreSQL). Until then the planner takes the new
# month's "published" rosters to be as few as before, and the reads that follow (the notices, a
# demo's pay run, the duty summary) run a month's index once per roster: minutes at a province's
# 14,000. Autovacuum's own analyse comes a minute later at best, never inside this transaction.
ANALYZE_AFTER_PUBLISHING = 1000


def _refresh_statistics(published: int) -> None:
    if connection.vendor == "postgresql" and published >= ANALYZE_AFTER_PUBLISHING:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(RosterMonth._meta.db_table)}")


def _notify_published(*, rosters: list[RosterMonth], month: datetime.date) -> None:
    by_pk = {r.pk: r for r in rosters}
    pairs = list(
        DutyDay.objects.filter(roster_id__in=by_pk)
        .values_list("roster_id", "doctor_id")
        .distinct()
        .order_by("roster_id", "doctor_id")
    )
    people = Doctor.objects.filter(pk__in={d for _r, d in pairs}, user__isnull=False).select_related("user").in_bulk()
    link = duty_link()
    for roster_id, doctor_id in pairs:
        doctor = people.get(doctor_id)
        if doctor is not None:
            roster = by_pk[roster_id]
            notify_doctor(
                doctor=doctor,
                kind="roster_published",
                about=roster,
                context={"facility_name": roster.facility.name, "month": f"{month:%Y-%m}"},
                link=link,
            )


def published_duties_guard(*, posting: Posting, end_date: datetime.date) -> None:
    """A posting does not end before the doctor's published duties at its clinic (the roster would
    still name a doctor the clinic no longer has): amend the roster first. Registered with
    `staffing.services.postings.register_posting_end_guard` by the app's `ready()`."""
    last = (
        DutyDay.objects.filter(
            doctor_id=posting.doctor_id, facility_id=posting.facility_id, date__gt=end_date,
            roster__status=RosterMonth.Status.PUBLISHED,
        )
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
    if last is not None:
        raise ValidationError(
            {"end_date": _("The doctor has published duties at this clinic until %(date)s: end the posting after that day, "
                           "or amend the roster first.") % {"date": last}}
        )


def register() -> None:
    register_posting_end_guard(published_duties_guard)
