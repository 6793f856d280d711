"""Planning and publishing a month for the whole county as jobs (issue #19). One township stays
immediate in the plan page, and so does a county of one township; a county of several townships
runs on a worker with progress by township. Each job wraps the existing service, called once per
township inside one transaction, so the month is planned (or published) whole or not at all, as
the immediate county-wide call does. (One difference: a cover duty that a doctor holds in another
township's draft counts as taken while the earlier townships are planned; the county-wide call
ignores all drafts it replaces. A draft's cover duties are replaced anyway.)

Both are idempotent, as a takeover needs: planning replaces the month's drafts and never touches a
published roster; publishing skips a township whose rosters are published already."""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.models import Township
from core.errors import DomainError
from core.jobs import register_job, start_job
from core.months import month_start
from staffing.rosters.models import RosterMonth
from staffing.rosters.services.generation import clinics_for, roster_generate
from staffing.rosters.services.publishing import roster_publish

GENERATE = "rosters.generate"
PUBLISH = "rosters.publish"
COUNTY = "county"


def _dedupe(action: str):
    # month + scope + action: a second start of the same month's county planning joins the first.
    return lambda params: f"{action}:{params['month']}:{params.get('scope', COUNTY)}"


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
