"""Endpoints found by walking the URL conf and the admin registry (never a hand-written list)."""

from dataclasses import dataclass

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse


@dataclass(frozen=True)
class Endpoint:
    kind: str  # "api", "admin" or "page"
    family: str  # app label (admin) or first path segment (api, page)
    path: str

    def __str__(self):
        return f"{self.kind}:{self.path}"


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def _has_params(route: str) -> bool:
    return "<" in route or "(?P" in route or "\\" in route


def _allows_get(pattern: URLPattern) -> bool:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions is not None:  # a router view: list/retrieve and @action routes
        return "get" in actions
    view_class = getattr(callback, "view_class", None) or getattr(getattr(callback, "cls", None), "__mro__", [None])[0]
    if view_class is not None:
        return hasattr(view_class, "get")
    return True


def _clean(route: str) -> str:
    return "/" + route.replace("^", "").replace("$", "")


def api_list_endpoints() -> list[Endpoint]:
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or _has_params(route) or not _allows_get(pattern):
            continue
        path = _clean(route)
        family = path.removeprefix("/api/v1/").split("/")[0]
        found.append(Endpoint("api", family, path))
    return sorted(set(found), key=str)


def page_endpoints() -> list[Endpoint]:
    found = []
    for route, _pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("m/") or _has_params(route):
            continue
        path = _clean(route)
        family = path.removeprefix("/m/").split("/")[0] or "home"
        found.append(Endpoint("page", family, path))
    return sorted(set(found), key=str)


def admin_changelists() -> list[Endpoint]:
    return sorted(
        (
            Endpoint("admin", model._meta.app_label, reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
            for model in admin.site._registry
        ),
        key=str,
    )


def admin_custom_pages() -> list[Endpoint]:
    """Parameterless admin pages an app adds beside its changelist (imports, runs, reports)."""
    changelists = {e.path for e in admin_changelists()}
    found = []
    for route, _pattern in _walk(get_resolver().url_patterns):
        path = _clean(route)
        parts = path.strip("/").split("/")
        if not route.startswith("admin/") or _has_params(route) or path in changelists or len(parts) != 4:
            continue
        if parts[3] == "add":
            continue
        found.append(Endpoint("admin", parts[1], path))
    return sorted(set(found), key=str)
