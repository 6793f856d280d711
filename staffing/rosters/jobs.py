"""Planning and publishing a month for the whole county as jobs (issue #19). One township stays
immediate in the plan page, and so does a county of one township; a county of several townships
runs on a worker with progress by township. Each job wraps the existing service, called once per
township inside one transaction, so the month is planned (or published) whole or not at all, as
the immediate county-wide call does. (One difference: a cover duty that a doctor holds in another
township's draft counts as taken while the earlier townships are planned; the county-wide call
ignores all drafts it replaces. A draft's cover duties are replaced anyway.)

Both are idempotent, as a takeover needs: planning replaces the month's drafts and never touches a
published roster; publishing skips a township whose rosters are published already.

The roster changelist's "regenerate" and "publish" actions follow the plan page's rule: a
selection of one township (and fewer than ROSTER_JOB_MIN_ROSTERS rosters) stays immediate, a
selection spanning several townships starts one job per month (scope "selection": the selected
clinics, or the selected townships for publishing). Such a job takes its starter's id and, when it
runs, keeps only the rosters the starter may change then (`_in_reach`); the services check the
reach again for each township.

The plan page's month summary export of the whole county (more than one township, the same rule)
is a job too (`rosters.summary_export`): it computes the summary in the starter's reach when it
runs and keeps the XLSX as the job's private file; a township's summary stays a direct download."""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.models import Township
from clinics.scoping import reach_filter, user_role
from core.errors import DomainError, Refused
from core.jobs import attach_file, default_dedupe_key, register_job, start_job
from core.months import month_start
from core.tabular import xlsx_bytes
from staffing.rosters import selectors
from staffing.rosters.exports import SUMMARY_KINDS, XLSX
from staffing.rosters.models import ROSTER_FLOW, DutyDay, RosterMonth
from staffing.rosters.services.generation import clinics_for, roster_generate
from staffing.rosters.services.publishing import roster_publish

GENERATE = "rosters.generate"
PUBLISH = "rosters.publish"
GENERATE_SELECTION = "rosters.generate_selection"
SUMMARY_EXPORT = "rosters.summary_export"
EXPORT_PROGRESS_ROWS = 500
PUBLISH_SELECTION = "rosters.publish_selection"
COUNTY = "county"
SELECTION = "selection"


def _dedupe(action: str):
    # month + scope + action: a second start of the same month's county planning joins the first;
    # a selection's key adds its starter and the ids chosen.
    def key(params):
        if params.get("scope", COUNTY) != SELECTION:
            return f"{action}:{params['month']}:{COUNTY}"
        ids = params.get("facilities") or params.get("townships") or []
        return f"{action}:{params['month']}:{SELECTION}:{params.get('user')}:{default_dedupe_key({'ids': ids})}"

    return key


def roster_job_start(*, action: str, month: datetime.date, user):
    """The queued or running job planning ("generate") or publishing ("publish") `month` for the
    whole county."""
    kind = {"generate": GENERATE, "publish": PUBLISH}[action]
    return start_job(kind, params={"month": month.isoformat(), "scope": COUNTY, "action": action}, user=user)


def _acting_user(job):
    return get_user_model().objects.filter(pk=job.started_by_id).first() if job.started_by_id else None


def _townships(*, month: datetime.date | None = None):
    """The townships with an active village clinic (planning), or with a roster of `month`
    (publishing), in code order."""
    if month is None:
        ids = clinics_for().values("township_id")
    else:
        ids = RosterMonth.objects.filter(month=month_start(month)).values("facility__township_id")
    return list(Township.objects.filter(pk__in=ids).order_by("code"))


def county_as_job() -> bool:
    """Whole-county work is a job when the county has more than one township to plan."""
    return Township.objects.filter(pk__in=clinics_for().values("township_id")).count() > 1


def selection_as_job(*, townships: int, rosters: int) -> bool:
    """The changelist's rule, the plan page's: more than one township (or a very large selection)."""
    return townships > 1 or rosters >= settings.ROSTER_JOB_MIN_ROSTERS


def roster_selection_job_start(*, action: str, month: datetime.date, user, facility_ids=(), township_ids=()):
    """The job regenerating the selected clinics' drafts of `month` ("generate", `facility_ids`)
    or publishing the selected townships' month ("publish", `township_ids`), for `user`."""
    kind = {"generate": GENERATE_SELECTION, "publish": PUBLISH_SELECTION}[action]
    params = {"month": month_start(month).isoformat(), "scope": SELECTION, "action": action, "user": user.pk}
    if action == "generate":
        params["facilities"] = sorted({int(pk) for pk in facility_ids})
    else:
        params["townships"] = sorted({int(pk) for pk in township_ids})
    return start_job(kind, params=params, user=user)


def publish_preview(*, pairs) -> dict:
    """What publishing these (month, township id) pairs does: per pair the drafts published and the
    doctors told (those on the drafts' duties who have a login), and the totals. Three queries."""
    condition = Q(pk__in=[])
    for month, township_id in pairs:
        condition |= Q(month=month, facility__township_id=township_id)
    drafts = RosterMonth.objects.filter(condition, status__in=ROSTER_FLOW.sources(RosterMonth.Status.PUBLISHED))
    per_pair = {
        (row["month"], row["facility__township_id"]): row["n"]
        for row in drafts.values("month", "facility__township_id").annotate(n=Count("pk")).order_by()
    }
    told = DutyDay.objects.filter(roster__in=drafts, doctor__user__isnull=False)
    doctors_per_pair = {
        (row["roster__month"], row["roster__facility__township_id"]): row["d"]
        for row in told.values("roster__month", "roster__facility__township_id").annotate(d=Count("doctor", distinct=True)).order_by()
    }
    names = dict(Township.objects.filter(pk__in={t for _m, t in pairs}).values_list("pk", "name"))
    rows = [
        {"month": month, "township": names.get(township_id, "—"), "rosters": n, "doctors": doctors_per_pair.get((month, township_id), 0)}
        for (month, township_id), n in sorted(per_pair.items(), key=lambda item: (item[0][0], names.get(item[0][1], "")))
    ]
    return {
        "rows": rows,
        "rosters": sum(per_pair.values()),
        "doctors": told.values("doctor_id").distinct().count(),
    }


def _selection_starter(job, params):
    """The starter of a selection job, as he is now (never None: None would be the system)."""
    user = get_user_model().objects.filter(pk=params.get("user"), is_active=True, is_staff=True).first()
    if user is None or user.pk != job.started_by_id or user_role(user) is None:
        raise Refused(_("The user who started this task may no longer change these rosters; nothing was changed."))
    return user


def _in_reach(rosters, user):
    condition = reach_filter(user, "facility")
    return rosters if condition is None else rosters.filter(condition)


def _selected_drafts_by_township(*, month, facility_ids, user) -> dict:
    """{township: [facility ids]} of the selected clinics' draft rosters of the month in the starter's reach."""
    drafts = _in_reach(
        RosterMonth.objects.filter(month=month, facility_id__in=facility_ids, status=RosterMonth.Status.DRAFT), user
    )
    by_township: dict[int, list[int]] = {}
    for facility_id, township_id in drafts.values_list("facility_id", "facility__township_id").order_by("facility_id"):
        by_township.setdefault(township_id, []).append(facility_id)
    townships = Township.objects.in_bulk(list(by_township))
    return {townships[t]: ids for t, ids in sorted(by_township.items(), key=lambda item: townships[item[0]].code)}


@register_job(GENERATE_SELECTION, label=_("Roster planning (selected townships)"), dedupe=_dedupe("generate"))
def roster_generate_selection_job(*, params, progress, job):
    month = datetime.date.fromisoformat(params["month"])
    user = _selection_starter(job, params)
    groups = _selected_drafts_by_township(month=month, facility_ids=params.get("facilities") or [], user=user)
    progress(0, total=len(groups))
    planned = gaps = clinics = 0
    with transaction.atomic():
        for n, (township, facility_ids) in enumerate(groups.items(), 1):
            result = roster_generate(month=month, facility_ids=facility_ids, acting_user=user)
            planned += result.created + result.replaced
            gaps += result.gaps
            clinics += result.clinics
            progress(n, total=len(groups), note=township.name)
    return {
        "message": gettext("%(month)s: %(n)s rosters planned, %(gaps)s gaps.") % {"month": f"{month:%Y-%m}", "n": planned, "gaps": gaps},
        "townships": len(groups), "clinics": clinics, "planned": planned, "gaps": gaps,
    }


@register_job(PUBLISH_SELECTION, label=_("Roster publishing (selected townships)"), dedupe=_dedupe("publish"))
def roster_publish_selection_job(*, params, progress, job):
    month = datetime.date.fromisoformat(params["month"])
    user = _selection_starter(job, params)
    drafts = _in_reach(
        RosterMonth.objects.filter(month=month, facility__township_id__in=params.get("townships") or [],
                                   status__in=ROSTER_FLOW.sources(RosterMonth.Status.PUBLISHED)),
        user,
    )
    townships = list(Township.objects.filter(pk__in=drafts.values("facility__township_id")).order_by("code"))
    if not townships:  # published meanwhile, or out of the starter's reach now
        raise Refused(_("There is no draft roster left to publish in the selected townships for this month."))
    progress(0, total=len(townships))
    published = 0
    with transaction.atomic():
        for n, township in enumerate(townships, 1):
            published += roster_publish(month=month, township=township, acting_user=user)
            progress(n, total=len(townships), note=township.name)
    return {
        "message": gettext("%(month)s: %(n)s rosters published.") % {"month": f"{month:%Y-%m}", "n": published},
        "townships": len(townships), "published": published,
    }


@register_job(GENERATE, label=_("Roster planning (whole county)"), dedupe=_dedupe("generate"))
def roster_generate_job(*, params, progress, job):
    month = datetime.date.fromisoformat(params["month"])
    user = _acting_user(job)
    townships = _townships()
    progress(0, total=len(townships))
    planned = kept = gaps = clinics = 0
    with transaction.atomic():
        for n, township in enumerate(townships, 1):
            result = roster_generate(month=month, township=township, acting_user=user)
            planned += result.created + result.replaced
            kept += result.skipped_published
            gaps += result.gaps
            clinics += result.clinics
            progress(n, total=len(townships), note=township.name)
    return {
        "message": gettext("%(month)s: %(n)s rosters planned (%(kept)s published kept), %(gaps)s gaps.")
        % {"month": f"{month:%Y-%m}", "n": planned, "kept": kept, "gaps": gaps},
        "townships": len(townships), "clinics": clinics, "planned": planned, "kept": kept, "gaps": gaps,
    }


@register_job(PUBLISH, label=_("Roster publishing (whole county)"), dedupe=_dedupe("publish"))
def roster_publish_job(*, params, progress, job):
    month = datetime.date.fromisoformat(params["month"])
    user = _acting_user(job)
    townships = _townships(month=month)
    progress(0, total=len(townships))
    published = 0
    with transaction.atomic():
        for n, township in enumerate(townships, 1):
            try:
                published += roster_publish(month=month, township=township, acting_user=user)
            except (ValidationError, DomainError):
                pass  # nothing (left) to publish in this township: the county call skips it too
            progress(n, total=len(townships), note=township.name)
        if not published:
            # Nothing anywhere: the county-wide call gives the service's own refusal (no draft
            # roster, or all published already).
            roster_publish(month=month, township=None, acting_user=user)
    return {
        "message": gettext("%(month)s: %(n)s rosters published.") % {"month": f"{month:%Y-%m}", "n": published},
        "townships": len(townships), "published": published,
    }


def summary_export_start(*, month: datetime.date, user):
    """The job exporting the whole county's month summary (in `user`'s reach) as XLSX."""
    return start_job(SUMMARY_EXPORT, params={"month": month_start(month).isoformat(), "user": user.pk}, user=user)


@register_job(SUMMARY_EXPORT, label=_("Roster month summary export (whole county)"))
def summary_export_job(*, params, progress, job):
    user = get_user_model().objects.filter(pk=params.get("user"), is_active=True, is_staff=True).first()
    if user is None or user.pk != job.started_by_id or user_role(user) is None:
        raise Refused(_("The user who started this export may no longer export; nothing was written."))
    month = datetime.date.fromisoformat(params["month"])
    progress(0, total=None, note=f"{month:%Y-%m}")
    headers, rows = selectors.month_summary_table(selectors.month_summary(user=user, month=month, township_code=None))
    total = len(rows)
    progress(0, total=total, note=f"{month:%Y-%m}")

    def counted():
        for n, row in enumerate(rows, 1):
            if n % EXPORT_PROGRESS_ROWS == 0:
                progress(n, total=total, note=f"{month:%Y-%m}")
            yield row

    content = xlsx_bytes(headers, counted(), sheet_title=f"{month:%Y-%m}", kinds=SUMMARY_KINDS)
    attach_file(job, name=f"roster-summary-{month:%Y-%m}.xlsx", content=content, content_type=XLSX)
    progress(total, total=total, note=f"{month:%Y-%m}")
    return {"message": gettext("%(month)s: the summary of %(n)s rows is ready.") % {"month": f"{month:%Y-%m}", "n": total},
            "rows": total}
