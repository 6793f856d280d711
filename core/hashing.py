"""The keyed hash of personal identifiers (ID numbers, a patient's identity), so rows can be found
by them without storing or searching the plain value in an index.

The key is its own setting, `HASH_KEY` (environment `CUNYI_HASH_KEY`), not `SECRET_KEY`: rotating
the secret key (sessions, signed links) must not silently break every stored hash.

Rotating the hash key: every app that stores keyed hashes registers a *rehasher* (a function that
recomputes its stored hashes from the values they were made of, with the key now configured, and
returns how many rows it rewrote). To rotate, set the new `CUNYI_HASH_KEY`, restart, and run
`manage.py rehash_keyed_values` at once: until it has run, look-ups by ID number miss. The command
rewrites each app's rows in one transaction per app and prints the counts.
"""

import hashlib
import hmac
from collections.abc import Callable

from django.conf import settings

REHASHERS: dict[str, Callable[[], int]] = {}


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 under HASH_KEY of the value, stripped and upper-cased, as 64 hex digits."""
    return hmac.new(settings.HASH_KEY.encode(), (value or "").strip().upper().encode(), hashlib.sha256).hexdigest()


def register_rehasher(label: str, func: Callable[[], int]) -> None:
    """`func()` recomputes the stored hashes of one kind of row and returns the rows rewritten."""
    REHASHERS[label] = func


def rehash_all() -> dict[str, int]:
    from django.db import transaction

    counts = {}
    for label, func in sorted(REHASHERS.items()):
        with transaction.atomic():
            counts[label] = func()
    return counts
