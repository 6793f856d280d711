"""The page django-axes answers after too many failed log-ins (same username from the same
address): in Chinese, saying how long to wait and whom to ask."""

from django.conf import settings
from django.shortcuts import render


def lockout_response(request, credentials, *args, **kwargs):
    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return render(request, "portal/locked.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
