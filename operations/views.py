"""The health endpoint (JSON for machines) and the pages of long work (我的任务, one task's progress)."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.audit import audit_record
from core.errors import DomainError, NotFound
from core.jobs import job_file_for, job_get, job_label, job_list, job_state
from core.lockout import client_ip
from operations.health import CHECKS
from operations.selectors import health_summary


def _anonymous_over_rate(request) -> bool:
    """A caller without a staff login may ask HEALTH_ANONYMOUS_PER_MINUTE times a minute per address."""
    key = f"health:anon:{client_ip(request) or '-'}:{int(timezone.now().timestamp() // 60)}"
    cache.add(key, 0, timeout=90)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=90)
        count = 1
    return count > settings.HEALTH_ANONYMOUS_PER_MINUTE


@never_cache
@require_GET
def health(request):
    """200 when every check passes, 503 naming the ones that fail. Staff see each check's figures
    and reason; anyone else sees only which checks pass (rate-limited per address)."""
    only = {name for name in request.GET.get("only", "").split(",") if name}
    unknown = only - set(CHECKS)
    if unknown:
        return JsonResponse({"detail": _("Unknown check: %(names)s.") % {"names": ", ".join(sorted(unknown))}}, status=400)
    detailed = request.user.is_authenticated and request.user.is_staff
    if not detailed and _anonymous_over_rate(request):
        return JsonResponse({"status": "throttled"}, status=429, headers={"Retry-After": "60"})
    report = health_summary(only=only or None)
    body = {
        "status": "ok" if report["healthy"] else "failing",
        "failed": [failure["name"] for failure in report["failed"]],
        "checks": (
            report["checks"]
            if detailed
            else {name: "ok" if result["ok"] else "failing" for name, result in report["checks"].items()}
        ),
        "at": timezone.now().isoformat(timespec="seconds"),
    }
    return JsonResponse(body, status=200 if report["healthy"] else 503, json_dumps_params={"ensure_ascii": False})


def _job_or_404(request, job_id):
    try:
        return job_get(user=request.user, job_id=job_id)
    except NotFound:
        raise Http404 from None


@staff_member_required
def my_jobs(request):
    jobs = list(job_list(user=request.user)[:100])
    for job in jobs:
        job.label = job_label(job)
    context = {**admin.site.each_context(request), "title": _("My tasks"), "jobs": jobs}
    return render(request, "operations/job_list.html", context)


def _state(request, job) -> dict:
    """The job's state as `request.user` may see it: the file and its link only for the starter."""
    state = job_state(job, user=request.user)
    if state["file"] is not None:
        state["file"]["url"] = reverse("operations:job-file", args=[job.pk]) if state["file"]["available"] else None
    return state


def _job_page(request, job, *, status=200):
    context = {**admin.site.each_context(request), "title": job_label(job), "job": job, "state": _state(request, job)}
    return render(request, "operations/job_detail.html", context, status=status)


@staff_member_required
def job_detail(request, job_id: int):
    return _job_page(request, _job_or_404(request, job_id))


@never_cache
@staff_member_required
def job_state_json(request, job_id: int):
    return JsonResponse(_state(request, _job_or_404(request, job_id)), json_dumps_params={"ensure_ascii": False})


@never_cache
@require_GET
@staff_member_required
def job_file(request, job_id: int):
    """The job's result file, to the user who started the job only (404 for anyone else, a
    superuser too: an export holds full ID and bank numbers). Expired: the page says to run it again."""
    try:
        found = job_file_for(user=request.user, job_id=job_id)
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return _job_page(request, _job_or_404(request, job_id), status=int(exc.status))
    audit_record(actor=request.user, action="job.file_downloaded", target=found.job,
                 changes={"file": found.name, "size": found.size})  # fmt: skip
    response = FileResponse(found.open(), as_attachment=True, filename=found.name, content_type=found.content_type)
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
