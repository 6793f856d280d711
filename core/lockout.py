"""Who is logging in from where, and the page django-axes answers after too many failed log-ins.

Behind the reverse proxy the README asks for, every request arrives from the proxy's address, so a
lockout per (username, address) would lock a username for everyone after five wrong passwords from
anyone. `client_ip` gives the address the request came from as the trusted proxies saw it:
`TRUSTED_PROXY_COUNT` says how many proxies stand in front of the application (0: none, the
X-Forwarded-For header is ignored, since any client can send one). django-axes
(`AXES_CLIENT_IP_CALLABLE`) and the API throttles (`core.throttling`) both use it, so a lockout
and a rate limit name the same address.
"""

import ipaddress

from django.conf import settings
from django.shortcuts import render

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address, trusting exactly `TRUSTED_PROXY_COUNT` proxies.

    Each proxy appends the address it received the request from to X-Forwarded-For, and the nearest
    one is REMOTE_ADDR. With N trusted proxies the client is therefore the N-th entry from the right;
    anything further left was written by the client and is not believed. A header with fewer than N
    entries (a request that bypassed the proxies) or an entry that is not an IP address falls back to
    REMOTE_ADDR, never to a value the client chose."""
    remote = request.META.get("REMOTE_ADDR") or None
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    entries = [entry for entry in request.META.get(FORWARDED_FOR, "").split(",") if entry.strip()]
    if len(entries) < count:
        return remote
    return _valid_ip(entries[-count]) or remote


def lockout_response(request, credentials, *args, **kwargs):
    """In Chinese: how long to wait and whom to ask (the county admin can unlock at once)."""
    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return render(request, "portal/locked.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
