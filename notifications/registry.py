"""The channel registry and the address resolvers.

A channel is registered once, from an AppConfig.ready() (the built-in ones from notifications'
own): its code, its Chinese label, the backend that sends a row, whether a user who never chose is
reached on it, and where its address comes from. The apps that know a person register how to find
that person's address on a channel (`register_address_resolver`): staffing gives a doctor's mobile
and WeChat Work user id from the register, so notifications never imports the apps that know people.

An address is looked for in this order: the one the user typed into their preferences (the channel's
`own_address` field), the one the caller passes for this one message (`notify(addresses=…)`), then
the registered resolvers by priority. No address, no row on that channel."""

import dataclasses
import logging
from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class ChannelError(Exception):
    """Sending failed. `permanent` errors (no address, a rejected number) are not retried; `code` is
    the provider's error code when it gave one."""

    def __init__(self, message: str, *, permanent: bool = False, code=None):
        super().__init__(message)
        self.permanent = permanent
        self.code = code


@dataclasses.dataclass(frozen=True)
class ChannelSpec:
    code: str
    label: object  # a lazy translation: the channel's name ("短信")
    # The dotted path of the class sending one row, or a function reading it from settings;
    # NOTIFICATIONS_CHANNEL_BACKENDS overrides any.
    backend: "str | Callable[[], str]"
    enabled_by_default: bool = True
    preference_label: object = None  # the preference page's checkbox ("通过短信通知我")
    always_on: bool = False  # the inbox: no switch, no address
    own_address: str = ""  # the NotificationPreference field a user may type an address into
    available: Callable[[], bool] | None = None  # False: not configured here, no rows are queued
    mask: Callable[[str], str] | None = None  # how the address shows in the admin and the logs
    send_seconds: Callable[[], float] | None = None  # the longest one send may take (the lease keeps it in hand)
    # A channel whose provider cannot recognise a repeat: a row handed to it whose answer was not
    # recorded (the worker died) is never sent again automatically.
    repeat_safe: bool = True
    order: int = 100

    def is_available(self) -> bool:
        return self.available is None or bool(self.available())


CHANNELS: dict[str, ChannelSpec] = {}
RESOLVERS: dict[str, list[tuple[int, int, Callable]]] = {}


def register_channel(*, code: str, label, backend, enabled_by_default: bool = True, **options) -> ChannelSpec:
    if len(code) > 10:
        raise ValueError(f"channel code {code!r} is longer than the outbox column (10)")
    spec = ChannelSpec(code=code, label=label, backend=backend, enabled_by_default=enabled_by_default, **options)
    CHANNELS[code] = spec
    return spec


def register_address_resolver(channel: str, func: Callable, *, priority: int = 100) -> None:
    """`func(user) -> str` gives `user`'s address on `channel` ("" when it knows none). Lower
    priorities are asked first; registering the same function twice keeps one."""
    entries = [entry for entry in RESOLVERS.get(channel, []) if entry[2] is not func]
    entries.append((priority, len(entries), func))
    RESOLVERS[channel] = sorted(entries, key=lambda entry: entry[:2])


def channels() -> list[ChannelSpec]:
    return sorted(CHANNELS.values(), key=lambda spec: (spec.order, spec.code))


def channel(code: str) -> ChannelSpec:
    return CHANNELS[code]


def switchable_channels() -> list[ChannelSpec]:
    """The channels a user may switch on or off (every one but the inbox)."""
    return [spec for spec in channels() if not spec.always_on]


def channel_choices() -> list[tuple[str, object]]:
    """The outbox's and the preferences' choices (a callable, so a new channel needs no migration)."""
    return [(spec.code, spec.label) for spec in channels()]


def resolve_address(code: str, user, *, own: str = "", given: str = "") -> str:
    for candidate in (own, given):
        if (candidate or "").strip():
            return candidate.strip()
    for _priority, _index, func in RESOLVERS.get(code, []):
        try:
            address = func(user)
        except Exception:  # one broken resolver must not stop the event that notifies
            logger.exception("address resolver %s for %s failed", getattr(func, "__name__", func), code)
            continue
        if (address or "").strip():
            return address.strip()
    return ""


def mask_address(code: str, address: str) -> str:
    spec = CHANNELS.get(code)
    if spec is None or spec.mask is None:
        return address
    return spec.mask(address)


def backend_for(code: str):
    overrides = getattr(settings, "NOTIFICATIONS_CHANNEL_BACKENDS", None) or {}
    backend = CHANNELS[code].backend
    return import_string(overrides.get(code) or (backend() if callable(backend) else backend))()


def longest_send_seconds() -> float:
    """The slowest single send among the channels in use here."""
    return max(
        (float(spec.send_seconds()) for spec in CHANNELS.values() if spec.send_seconds and spec.is_available()),
        default=0.0,
    )
