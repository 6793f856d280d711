"""`{% load portal_icons %}{% icon "calendar" %}`: a phone tile's inline SVG icon by name (core.portal.ICONS)."""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from core.portal import icon_svg

register = template.Library()


@register.simple_tag
def icon(name: str, size: int = 28, label: str = ""):
    return mark_safe(icon_svg(str(name), size=int(size), label=escape(str(label))))  # noqa: S308 - paths are ours, the label escaped
