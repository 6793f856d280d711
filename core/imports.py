"""One rule for every import in Cunyi, and a safe place for a file between its preview and its
confirmation.

The rule, for imports that change stored rows (doctors, the holiday calendar): an empty cell, or a
column left out of the file, keeps the value already stored; writing 清空 (or CLEAR) in a cell
clears an optional value; a required column is never cleared, and a new row must fill it.
Imports whose every row is a new record (settlements, bureau statements) have nothing stored to
keep: an empty optional cell is simply no value. Import pages show `empty_cell_rule(...)`, and
the importers read cells through `import_cell`, so the page and the code say the same thing.
"""

import enum
import hashlib
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.validators import normalize_code

CLEAR_WORDS = ("清空", "CLEAR")
NOT_CLEARABLE = "not_clearable"


class Cell(enum.Enum):
    KEEP = "keep"  # the column is absent or the cell empty: the stored value stays
    CLEAR = "clear"  # the cell says 清空 / CLEAR: an optional value is emptied


KEEP = Cell.KEEP
CLEAR = Cell.CLEAR

UPDATE_RULE = gettext_lazy(
    "An empty cell, or a column left out of the file, keeps the value already stored. To clear an "
    "optional value, write 清空 (or CLEAR) in its cell. Required columns cannot be cleared, and a new "
    "row must fill every required column."
)
NEW_ROWS_RULE = gettext_lazy(
    "Every row of this file is a new record: an empty cell in an optional column means the value is not "
    "given, and every required column must be filled. An upload never clears a stored value."
)


def empty_cell_rule(kind: str = "update") -> str:
    """The rule an import page shows: "update" for imports that change stored rows, "new" for
    imports whose every row is a new record."""
    return str(NEW_ROWS_RULE if kind == "new" else UPDATE_RULE)


def import_cell(values: Mapping[str, str], column: str, *, required: bool = False, label=None) -> "str | Cell":
    """A cell of a row read by `core.tabular.read_table`, under the rule: KEEP when the column
    is absent or the cell empty, CLEAR for 清空/CLEAR in an optional column, else the trimmed text.
    清空 in a required column is refused (ValidationError, code "not_clearable")."""
    if column not in values:
        return KEEP
    text = (values[column] or "").strip()
    if not text:
        return KEEP
    if normalize_code(text).upper() in CLEAR_WORDS:
        if required:
            raise ValidationError(
                _("%(column)s is required and cannot be cleared; leave the cell empty to keep the stored value.")
                % {"column": label or column},
                code=NOT_CLEARABLE,
            )
        return CLEAR
    return text


# --- A file waiting for confirmation ------------------------------------------------------------
# Between the preview and the confirmation the uploaded bytes stay on the server, in a file with a
# random name under VAR_DIR/imports (owner-only permissions), and the page carries only a signed
# token: the file's key, the user it belongs to and the file's SHA-256, valid for
# IMPORT_PREVIEW_SECONDS. Confirming claims the file by renaming it, which succeeds once, so a
# double submit imports once; cancelling deletes it; files older than the lifetime are swept away.

_KEY_RE = re.compile(r"^[0-9a-f]{32}$")


class PendingUploadError(Exception):
    """The token is expired, tampered with, someone else's, or its file was already used."""


@dataclass
class PendingUpload:
    data: bytes
    filename: str
    extra: dict


def pending_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


def pending_lifetime() -> int:
    """Seconds a file waits for its confirmation (setting IMPORT_PREVIEW_SECONDS)."""
    return int(getattr(settings, "IMPORT_PREVIEW_SECONDS", 1800))


def _salt(purpose: str) -> str:
    return f"core.imports.pending.{purpose}"


def _sweep(directory: Path) -> None:
    limit = time.time() - pending_lifetime() - 60
    for entry in directory.iterdir():
        try:
            if entry.stat().st_mtime < limit:
                entry.unlink()
        except FileNotFoundError:
            continue


def pending_upload_store(*, data: bytes, filename: str, user, purpose: str, extra: dict | None = None) -> str:
    """Keep `data` for a later confirmation by `user`; returns the token the page carries."""
    directory = pending_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    _sweep(directory)
    key = secrets.token_hex(16)
    path = directory / f"{key}.upload"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    payload = {
        "k": key,
        "u": getattr(user, "pk", None),
        "h": hashlib.sha256(data).hexdigest(),
        "n": filename[-200:],
        "x": extra or {},
    }
    return signing.dumps(payload, salt=_salt(purpose), compress=True)


def _payload(token: str, *, user, purpose: str) -> dict:
    try:
        payload = signing.loads(token or "", salt=_salt(purpose), max_age=pending_lifetime())
    except signing.SignatureExpired as exc:
        raise PendingUploadError(
            _("This preview has expired (it is kept for %(minutes)s minutes); upload the file again.")
            % {"minutes": pending_lifetime() // 60}
        ) from exc
    except signing.BadSignature as exc:
        raise PendingUploadError(_("This preview is not valid; upload the file again.")) from exc
    if not isinstance(payload, dict) or payload.get("u") != getattr(user, "pk", None) or not _KEY_RE.match(str(payload.get("k", ""))):
        raise PendingUploadError(_("This preview is not valid; upload the file again."))
    return payload


def pending_upload_claim(*, token: str, user, purpose: str) -> PendingUpload:
    """Take the file a token names, once: a second claim of the same token is refused."""
    payload = _payload(token, user=user, purpose=purpose)
    path = pending_dir() / f"{payload['k']}.upload"
    claimed = path.with_name(f"{payload['k']}.claimed-{secrets.token_hex(4)}")
    try:
        os.rename(path, claimed)
    except FileNotFoundError as exc:
        raise PendingUploadError(
            _("This preview was already confirmed or cancelled; nothing more was saved. Upload the file again to import it.")
        ) from exc
    try:
        data = claimed.read_bytes()
    finally:
        claimed.unlink(missing_ok=True)
    if hashlib.sha256(data).hexdigest() != payload["h"]:
        raise PendingUploadError(_("The file kept for this preview has changed; upload the file again."))
    return PendingUpload(data=data, filename=payload["n"], extra=payload.get("x") or {})


def pending_upload_discard(*, token: str, user, purpose: str) -> None:
    """Cancel: delete the file a token names (a token already used or expired is fine)."""
    try:
        payload = _payload(token, user=user, purpose=purpose)
    except PendingUploadError:
        return
    (pending_dir() / f"{payload['k']}.upload").unlink(missing_ok=True)
