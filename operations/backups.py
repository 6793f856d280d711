"""Backups of the database: `pg_dump` in its custom format (compressed, restorable table by table
with `pg_restore`), written with owner-only permissions under BACKUP_DIR, checked after writing
(`pg_restore --list` must read it back), and pruned to BACKUP_KEEP_DAILY daily and
BACKUP_KEEP_MONTHLY monthly copies. A restore goes into a scratch database only: the live one is
refused. On SQLite (development) a backup is SQLite's own online copy of the file.

Passwords go to the client programs in PGPASSWORD, never on their command line (where `ps`
shows them to every user of the host)."""

import datetime
import os
import re
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Refused

NAME_RE = re.compile(r"^cunyi-(\d{8})-(\d{6})\.(dump|sqlite3)$")
SCRATCH_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class BackupError(Exception):
    pass


def _database(alias: str = "default") -> dict:
    return settings.DATABASES[alias]


def _is_postgres(alias: str = "default") -> bool:
    return _database(alias)["ENGINE"] == "django.db.backends.postgresql"


def _client_env(db: dict) -> dict:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _client_args(db: dict) -> list[str]:
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    return args


def _run(command: list[str], db: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=_client_env(db), capture_output=True, text=True)
    if done.returncode != 0:
        # stderr of the client names the database and the host, never the password (it is not an argument)
        raise BackupError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def backup_directory(directory: Path | None = None) -> Path:
    """BACKUP_DIR (or `directory`), created, readable by the owner only."""
    directory = Path(directory or settings.BACKUP_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


def backup_database(*, directory: Path | None = None, now: datetime.datetime | None = None, prune: bool = True) -> Path:
    """Write one backup of the default database and return its path (mode 0600)."""
    directory = backup_directory(directory)
    stamp = timezone.localtime(now or timezone.now()).strftime("%Y%m%d-%H%M%S")
    db = _database()
    suffix = "dump" if _is_postgres() else "sqlite3"
    final = directory / f"cunyi-{stamp}.{suffix}"
    partial = final.with_name(final.name + ".partial")
    # Created owner-only before anything is written into it.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(partial, 0o600)
    try:
        if _is_postgres():
            _run(["pg_dump", *_client_args(db), "--format=custom", "--compress=6", "--no-owner",
                  f"--file={partial}", str(db["NAME"])], db)  # fmt: skip
            _run(["pg_restore", "--list", str(partial)], db)  # reads back its table of contents
        else:
            source = connections["default"]
            if source.in_atomic_block:  # SQLite's online copy would wait for the open write to end
                raise BackupError("a SQLite backup cannot be taken inside a transaction")
            source.ensure_connection()
            target = sqlite3.connect(partial)
            try:
                source.connection.backup(target)
            finally:
                target.close()
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if prune:
        prune_backups(directory=directory)
    return final


def backups_in(directory: Path) -> list[tuple[datetime.datetime, Path]]:
    found = []
    for path in Path(directory).iterdir():
        match = NAME_RE.match(path.name)
        if match:
            found.append((datetime.datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S"), path))
    return sorted(found, reverse=True)


def prune_backups(*, directory: Path, keep_daily: int | None = None, keep_monthly: int | None = None) -> list[Path]:
    """Keep the newest backup of each of the newest `keep_daily` days and of each of the newest
    `keep_monthly` months; delete the others. Returns the deleted paths."""
    keep_daily = settings.BACKUP_KEEP_DAILY if keep_daily is None else keep_daily
    keep_monthly = settings.BACKUP_KEEP_MONTHLY if keep_monthly is None else keep_monthly
    keep, days, months = set(), [], []
    for at, path in backups_in(directory):  # newest first
        if at.date() not in days and len(days) < keep_daily:
            days.append(at.date())
            keep.add(path)
        if (at.year, at.month) not in months and len(months) < keep_monthly:
            months.append((at.year, at.month))
            keep.add(path)
    deleted = []
    for _at, path in backups_in(directory):
        if path not in keep:
            path.unlink()
            deleted.append(path)
    return deleted


def live_database_names() -> set[str]:
    return {str(db["NAME"]) for db in settings.DATABASES.values() if db["ENGINE"] == "django.db.backends.postgresql"}


def restore_database(path: Path, *, into: str, replace: bool = False) -> None:
    """Restore the backup at `path` into the scratch database `into` (created; with `replace`, an
    existing scratch database of that name is dropped first). Never into a live database."""
    if not _is_postgres():
        raise Refused(_("Restoring is for PostgreSQL backups; a SQLite backup is a copy of the file."))
    if into in live_database_names():
        raise Refused(
            _("“%(name)s” is the live database: restore into a scratch database, check it, then switch over.")
            % {"name": into}
        )
    if not SCRATCH_NAME_RE.match(into):
        raise Refused(_("“%(name)s” is not a plain database name (letters, digits, underscores).") % {"name": into})
    path = Path(path)
    if not path.is_file():
        raise Refused(_("No backup file at %(path)s.") % {"path": path})
    db = _database()
    if replace:
        _run(["dropdb", *_client_args(db), "--if-exists", into], db)
    _run(["createdb", *_client_args(db), into], db)
    _run(["pg_restore", *_client_args(db), "--no-owner", "--exit-on-error", f"--dbname={into}", str(path)], db)
