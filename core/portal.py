"""The phone portal's menu. Each app registers its pages from its AppConfig.ready(), so the
portal home lists what the user's role may open without config importing the apps."""

from dataclasses import dataclass


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str  # a lazy translation
    url_name: str
    roles: frozenset
    order: int = 100
    icon: str = "•"


MENU: dict[str, MenuItem] = {}


def register_menu_item(*, key: str, label, url_name: str, roles, order: int = 100, icon: str = "•") -> None:
    MENU[key] = MenuItem(key=key, label=label, url_name=url_name, roles=frozenset(roles), order=order, icon=icon)


def menu_for(role: str | None) -> list[MenuItem]:
    return sorted((m for m in MENU.values() if role in m.roles), key=lambda m: (m.order, m.key))
