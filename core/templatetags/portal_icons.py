"""`{% load portal_icons %}{% icon "calendar" %}`: a phone tile's inline SVG icon by name (core.portal.ICONS);
`{% offline_urls menu %}`: the menu's pages kept for offline reading, as JSON (core.pwa);
`{% inline_static "app/page.css" %}`: a page's own CSS inlined into a <style>."""

import json
from functools import lru_cache

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

from core.portal import icon_svg

register = template.Library()


@register.simple_tag
def icon(name: str, size: int = 28, label: str = ""):
    return mark_safe(icon_svg(str(name), size=int(size), label=escape(str(label))))  # noqa: S308 - paths are ours, the label escaped


@register.simple_tag
def offline_urls(menu) -> str:
    return json.dumps([reverse(item.url_name) for item in menu if item.offline])  # autoescaped into the attribute


@register.simple_tag
def inline_static(path: str):
    """The text of static file `path` (a page's own CSS), for a <style> in the page itself: a phone
    page needs no stylesheet request before it can paint (core.pwa, size budget)."""
    return mark_safe(_static_text(str(path)))  # noqa: S308 - our own static files


@lru_cache(maxsize=32)
def _static_text(path: str) -> str:
    from django.contrib.staticfiles import finders

    found = finders.find(path)
    if not found:
        raise template.TemplateSyntaxError(f"No static file {path!r} to inline.")
    with open(found, encoding="utf-8") as handle:
        return handle.read().replace("</", "<\\/")
