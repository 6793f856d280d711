"""gunicorn settings, sized from the machine's cores (docker-compose's `web`, the smoke test).

Long work (pay runs, roster months, settlement files, reconciliation) runs as background tasks
(core.jobs), so a request stays short and the timeout can stay near gunicorn's default: a request
that still takes longer is a bug to move off the request path, not a reason to raise it.
Every value can be overridden from the environment (GUNICORN_*)."""

import os


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


cores = _cores()
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
# Processes for the CPU (2 per core + 1, gunicorn's rule), threads for the waits on PostgreSQL.
workers = _int("GUNICORN_WORKERS", 2 * cores + 1)
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# A worker is replaced after this many requests (bounded memory growth), staggered by the jitter.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# The proxy in front (Caddy) is the only client; X-Forwarded-* are read by Django itself
# (SECURE_PROXY_SSL_HEADER, TRUSTED_PROXY_COUNT).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Connections are opened in each worker after the fork (DB_CONN_MAX_AGE keeps them between requests).
preload_app = False


def on_starting(server):
    """Each thread may hold a PostgreSQL connection (DB_CONN_MAX_AGE): say how many at most, so
    the budget against max_connections is read off the log (README, "Sizing the web server")."""
    server.log.info("%s workers x %s threads: connections up to %s", workers, threads, workers * threads)
