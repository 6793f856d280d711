"""The health endpoint (JSON for machines) and the pages of long work (我的任务, one task's progress)."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.errors import NotFound
from core.jobs import job_get, job_label, job_list, job_state
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


@staff_member_required
def job_detail(request, job_id: int):
    job = _job_or_404(request, job_id)
    context = {**admin.site.each_context(request), "title": job_label(job), "job": job, "state": job_state(job)}
    return render(request, "operations/job_detail.html", context)


@never_cache
@staff_member_required
def job_state_json(request, job_id: int):
    return JsonResponse(job_state(_job_or_404(request, job_id)), json_dumps_params={"ensure_ascii": False})
