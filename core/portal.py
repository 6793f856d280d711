"""The phone portal's menu. Each app registers its pages from its AppConfig.ready(), so the
portal home lists what the user's role may open without config importing the apps.

A tile's icon is a NAME from ICONS, drawn as inline SVG (`{% load portal_icons %}{% icon name %}`):
no emoji (phones without an emoji font show empty boxes), no icon font, no extra request."""

from dataclasses import dataclass

# 24×24 line drawings, stroked with currentColor (fill only where a path says so).
ICONS: dict[str, str] = {
    "calendar": '<rect x="3" y="5" width="18" height="16" rx="2"/><path d="M3 10h18M8 3v4M16 3v4M7 14h3M14 14h3M7 18h3"/>',
    "leave": '<path d="M6 3h9l4 4v14H6z"/><path d="M15 3v4h4M9 12h7M9 16h4"/>',
    "swap": '<path d="M4 8h14l-4-4M20 16H6l4 4"/>',
    "payslip": '<rect x="2" y="6" width="20" height="12" rx="2"/><path d="M9 9l3 3 3-3M12 12v4M9.5 13.5h5"/>',
    "inbox": '<path d="M3 13l3-8h12l3 8v6H3z"/><path d="M3 13h5l1 3h6l1-3h5"/>',
    "consult": '<path d="M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a1 1 0 0 1-1 1A16 16 0 0 1 4 5a1 1 0 0 1 1-1z"/>',
    "book": '<rect x="3" y="5" width="18" height="16" rx="2"/><path d="M3 10h18M8 3v4M16 3v4M12 12.5v6M9 15.5h6"/>',
    "queue": '<path d="M9 6h12M9 12h12M9 18h12"/><circle cx="4.5" cy="6" r="1.5"/><circle cx="4.5" cy="12" r="1.5"/><circle cx="4.5" cy="18" r="1.5"/>',
    "history": '<path d="M3 12a9 9 0 1 0 3-6.7L3 8"/><path d="M3 3v5h5M12 7v5l3 2"/>',
    "video": '<rect x="2" y="6" width="14" height="12" rx="2"/><path d="M16 10l6-3v10l-6-3z"/>',
    "person": '<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>',
    "dot": '<circle cx="12" cy="12" r="4" fill="currentColor"/>',
}


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str  # a lazy translation
    url_name: str
    roles: frozenset
    order: int = 100
    icon: str = "dot"  # a name in ICONS
    offline: bool = False  # fetched for offline reading after log-in (core.pwa)


MENU: dict[str, MenuItem] = {}


def register_menu_item(
    *, key: str, label, url_name: str, roles, order: int = 100, icon: str = "dot", offline: bool = False
) -> None:
    """`offline`: the page is kept on the phone right after log-in, readable without a network."""
    if icon not in ICONS:
        raise ValueError(f"Unknown portal icon {icon!r} for menu item {key!r}; one of {sorted(ICONS)}.")
    MENU[key] = MenuItem(
        key=key, label=label, url_name=url_name, roles=frozenset(roles), order=order, icon=icon, offline=offline
    )


def menu_for(role: str | None) -> list[MenuItem]:
    return sorted((m for m in MENU.values() if role in m.roles), key=lambda m: (m.order, m.key))


def icon_svg(name: str, *, size: int = 28, label: str = "") -> str:
    """The inline <svg> of icon `name` (decorative unless `label` is given)."""
    body = ICONS.get(name, ICONS["dot"])
    a11y = f'role="img" aria-label="{label}"' if label else 'aria-hidden="true" focusable="false"'
    return (
        f'<svg class="ico" width="{size}" height="{size}" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
        f'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" {a11y}>{body}</svg>'
    )
