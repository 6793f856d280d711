"""A read-only computation in a second process, while the caller goes on with other work: the
second core for a province's pay run (its corrections recompute the approved months beside the
month being calculated).

    with in_child(fn, *args) as pending:
        ...                      # the caller's own work, meanwhile
        value = pending.get()    # what fn(*args) returned

`in_child` forks when it safely can (`can_fork`): the child opens its own database connections,
runs `fn` and sends its result back pickled through a pipe; the parent's connections are left
alone in the child (never used, never closed: closing one would end the parent's session) and the
child ends with `os._exit`, so nothing of the parent is finalised twice. When it cannot fork, or
the child fails, `get()` runs `fn` here: the answer is the same, only later.

The child sees what is committed, through connections of its own: `fn` must only read, and only
what the caller has not itself written in its open transaction. Hence the conditions: PostgreSQL,
this process running one thread (forking a threaded process can leave another thread's locks held
in the child), and no atomic block open beyond the caller's own (a test's, a request's: its rows
are not committed, so the child would not see them).
"""

import logging
import os
import pickle
import threading

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

_PARENT_CONNECTIONS: list = []  # in a child: the parent's, kept referenced so none is finalised


def _single_threaded() -> bool:
    return threading.active_count() == 1


def can_fork(using: str = DEFAULT_DB_ALIAS) -> bool:
    connection = connections[using]
    return (
        getattr(settings, "FORKED_READS", True)
        and hasattr(os, "fork")
        and connection.vendor == "postgresql"
        and _single_threaded()
        and len(connection.atomic_blocks) <= 1
        and not connection.savepoint_ids
    )


class Pending:
    """A computation started by `in_child`: `get()` gives its result (once)."""

    def __init__(self, fn, args, kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.pid: int | None = None
        self.fd: int | None = None
        self.forked = False

    def start(self) -> "Pending":
        if not can_fork():
            return self
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(read)
            os.close(write)
            logger.warning("could not fork for %s (%s); computing it in this process", self._name, exc)
            return self
        if pid == 0:  # the child
            os.close(read)
            self._run_child(write)
        os.close(write)
        self.pid, self.fd, self.forked = pid, read, True
        return self

    def _run_child(self, fd: int) -> None:
        status = 1
        try:
            for alias in connections:
                _PARENT_CONNECTIONS.append(connections[alias])
                connections[alias] = connections.create_connection(alias)
            try:
                outcome = ("ok", self.fn(*self.args, **self.kwargs))
            except BaseException as exc:  # reported to the parent, which computes it itself
                outcome = ("error", f"{type(exc).__name__}: {exc}")
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(fd, "wb") as pipe:
                pipe.write(data)
            status = 0 if outcome[0] == "ok" else 1
        except BaseException:  # noqa: S110 - the parent hears of it as a child without a result
            pass
        finally:
            for alias in connections:
                if connections[alias] not in _PARENT_CONNECTIONS:
                    try:
                        connections[alias].close()  # the child's own: closed cleanly
                    except Exception:  # noqa: S110
                        pass
            os._exit(status)

    @property
    def _name(self) -> str:
        return getattr(self.fn, "__qualname__", repr(self.fn))

    def get(self):
        if not self.forked:
            return self.fn(*self.args, **self.kwargs)
        with os.fdopen(self.fd, "rb") as pipe:
            data = pipe.read()
        self.fd = None
        status = _reap(self.pid)
        self.pid, self.forked = None, False
        try:
            kind, value = pickle.loads(data) if data else ("error", "no result")
        except Exception as exc:
            kind, value = "error", f"unreadable result ({exc})"
        if kind == "ok" and status == 0:
            return value
        logger.warning("the second process for %s failed (%s); computing it in this process", self._name, value)
        return self.fn(*self.args, **self.kwargs)

    def abandon(self) -> None:
        """The caller stopped before `get()`: the child is stopped and reaped."""
        if self.fd is not None:
            os.close(self.fd)  # the child's write fails and it exits
            self.fd = None
        if self.pid is not None:
            try:
                os.kill(self.pid, 15)
            except ProcessLookupError:
                pass
            _reap(self.pid)
            self.pid, self.forked = None, False

    def __enter__(self) -> "Pending":
        return self

    def __exit__(self, *exc_info) -> None:
        self.abandon()


def _reap(pid: int) -> int:
    """The child's exit status; 0 when something else (a SIGCHLD handler) reaped it already: its
    result then speaks for it."""
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return 0


def in_child(fn, *args, **kwargs) -> Pending:
    """Start `fn(*args, **kwargs)` in a forked child where one can be (see the module), else
    leave it to be run here by `get()`. Use as a context manager, so an exception in between
    stops the child."""
    return Pending(fn, args, kwargs).start()
