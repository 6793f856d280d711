"""The phone portal as an installable, offline-readable web app: the manifest, the service worker
(served from /m/sw.js so its scope is the whole portal) and a log-out that wipes what the phone
kept (a village clinic's phone is often shared).

What the service worker does (core/templates/portal/sw.js):
- phone pages (GET, HTML, under /m/) go to the network first; each page that answers 200 without
  a redirect is kept in the Cache Storage; without a network (or no answer in 8 s) the kept copy
  is shown with its "offline copy, saved at …" line (the time the server rendered it);
- after log-in the home page asks it to fetch the pages marked `offline` in the menu (duty
  calendar of this and next month, leave form, payslips, inbox) and the links those pages mark
  `data-precache` (the latest payslips);
- a leave request made without a network is kept on the phone (localStorage, in portal/base.html)
  with an id of its own and sent when the network returns; the server stores one request per id.
Log-out deletes the cache and the queue (script) and answers `Clear-Site-Data` (browser).
The icons were drawn for Cunyi: a house roof over a cross, in the portal's green.

Size budget (README, "Phone portal"): a phone page is at most 8 KB gzipped — HTML with its inline
CSS and script; the stylesheet is inlined (portal/_style.css) so the first answer is the whole page.

Gzip and BREACH. BREACH reads a secret out of compressed responses that also echo text an
attacker chose, by watching their sizes over many forged requests. Only the phone pages (/m/) are
compressed (PhonePagesGZipMiddleware): their secrets are the CSRF token, which Django masks anew
in every response (compression cannot match it across answers), and the calendar feed address
on the duty page; they echo no attacker's text (a query value is used only when it is one of a
fixed set or a valid date, and a form echoes values only on a POST, which needs the CSRF token).
Django's GZipMiddleware also pads each answer with 0–100 random bytes ("Heal The Breach"), which
blurs the sizes. The admin (its search box echoes the query next to a CSRF token and personal
data) and the API (a new token is shown once in a JSON answer) stay uncompressed; static files
come compressed from WhiteNoise; the calendar feeds (.ics) are left to their own ETag handling."""

import json
from functools import cache

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

# Bump when sw.js changes in a way old caches must not survive (their pages' markup changed).
CACHE_VERSION = "1"
# Paths the worker never answers from its cache.
NEVER_CACHED = ("login/", "logout/", "sw.js", "manifest.webmanifest")


@require_GET
def service_worker(request):
    portal = reverse("portal:home")
    body = render_to_string(
        "portal/sw.js",
        {
            "cache_name": f"cunyi-pages-v{CACHE_VERSION}",
            "scope": portal,
            "never": json.dumps([portal + p for p in NEVER_CACHED] + [reverse("rosters:my-duty") + "ical/"]),
            "offline_page": json.dumps(render_to_string("portal/offline.html", {"home": portal}, request=request)),
        },
        request=request,
    )
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # the browser checks for a new worker on every visit
    response["Service-Worker-Allowed"] = portal
    return response


@require_GET
def manifest(request):
    data = {
        "name": _("Cunyi village doctor"),
        "short_name": "村医",
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": reverse("portal:home"),
        "scope": reverse("portal:home"),
        "display": "standalone",
        "background_color": "#f6f8f7",
        "theme_color": "#1f7a4d",
        "icons": [
            {"src": static("portal/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            {"src": static("portal/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("portal/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }
    response = HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


class LogoutView(auth_views.LogoutView):
    """Django's log-out, and the browser told to drop this site's caches and storage (the kept
    pages, the unsent queue, the service worker): the next person on the phone sees nothing."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


@cache
def _portal_prefix() -> str:
    return reverse("portal:home")


class PhonePagesGZipMiddleware(GZipMiddleware):
    """Django's gzip (with its BREACH padding), for the phone portal's pages only (see above)."""

    def process_response(self, request, response):
        if not request.path.startswith(_portal_prefix()) or request.path.endswith(".ics"):
            return response
        return super().process_response(request, response)
