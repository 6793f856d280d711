#!/usr/bin/env python3
"""Production smoke test without a container engine: the command lines of docker-compose.yml, run
on this machine against the local PostgreSQL (a database of its own) and a private Redis.

    .venv/bin/python deploy/smoke_test.py [--database-url postgres://postgres@127.0.0.1:5432/cunyi_smoke]

What it starts, read from docker-compose.yml (so the two cannot drift apart):
  redis    the compose `redis` command (with --requirepass) on a free loopback port, data in a
           temporary folder; the app's broker and cache URLs carry the password
  migrate  the compose `migrate` job (migrate, then load_seeds) — must exit 0
  web      the compose `web` command: gunicorn with deploy/gunicorn.conf.py, CUNYI_ENV=production
           (DEBUG off, HTTPS-only cookies), bound to loopback only (GUNICORN_BIND)
  worker   the compose `worker` command (Celery)
  beat     the compose `beat` command (DatabaseScheduler)
  caddy    the compose `caddy` command with deploy/Caddyfile, `tls internal` (Caddy's own local CA,
           kept in the temporary folder; nothing is installed into the system's trust store)

Then, over HTTPS with certificate verification against Caddy's local root certificate, it signs in
on the phone pages as the demo village doctor, books a teleconsult through the API, waits until
the worker has delivered the consultant's notification (the outbox row turns "sent"), and waits for
/health/ to answer 200 for every check (the worker's heartbeat sent by beat included).
Every process is stopped at the end, whatever happened. Exit status 0 when all passed.
"""

import argparse
import contextlib
import http.cookiejar
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
STARTED = time.monotonic()
DEMO_PASSWORD = "smoke-" + secrets.token_urlsafe(12)


def log(message: str) -> None:
    print(f"[smoke {time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(interval)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last!r})")


class Stack:
    """The processes started here, each in its own process group, stopped in reverse order."""

    def __init__(self, logs: Path, secrets_to_hide=()):
        self.logs = logs
        self.secrets = [s for s in secrets_to_hide if s]
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        out = open(self.logs / f"{name}.log", "wb")
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append((name, process))
        shown = " ".join(argv)
        for secret in self.secrets:
            shown = shown.replace(secret, "***")
        log(f"started {name} (pid {process.pid}): {shown}")
        return process

    def check_alive(self) -> None:
        for name, process in self.processes:
            if name != "migrate" and process.poll() is not None:  # the migrate job is meant to end
                raise SystemExit(f"{name} exited with {process.returncode}; see {self.logs / (name + '.log')}")

    def stop(self) -> None:
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for name, process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            log(f"stopped {name} ({process.returncode})")

    def tail(self, lines: int = 6) -> None:
        for name, _process in self.processes:
            path = self.logs / f"{name}.log"
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            print(f"--- {name}.log (last {min(lines, len(text))} of {len(text)} lines)")
            for line in text[-lines:]:
                print("    " + line[:220])


def compose_commands() -> dict[str, list[str]]:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return {name: list(service["command"]) for name, service in services.items() if service.get("command")}


def recreate_database(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Browser:
    """A cookie-keeping HTTPS client that verifies the server against Caddy's local CA."""

    def __init__(self, base: str, cafile: Path):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        context = ssl.create_default_context(cafile=str(cafile))
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), urllib.request.HTTPCookieProcessor(self.jar)
        )

    def cookie(self, name: str):
        return next((c for c in self.jar if c.name == name), None)

    def request(self, method: str, path: str, *, data=None, json_body=None, headers=None):
        headers = {"Referer": self.base + "/", **(headers or {})}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if method != "GET" and self.cookie("csrftoken"):
            headers["X-CSRFToken"] = self.cookie("csrftoken").value
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.geturl(), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("SMOKE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cunyi_smoke"))
    parser.add_argument("--web-workers", default="2", help="GUNICORN_WORKERS here (the compose file sizes it from the cores)")
    parser.add_argument("--health-timeout", type=float, default=100.0)
    args = parser.parse_args()

    for program in ("caddy", "redis-server"):
        if shutil.which(program) is None:
            raise SystemExit(f"{program} is not installed (apt-get install caddy redis-server)")
    commands = compose_commands()
    tmp = Path(tempfile.mkdtemp(prefix="cunyi-smoke-"))
    logs = tmp / "logs"
    for folder in (logs, tmp / "var", tmp / "redis", tmp / "caddy"):
        folder.mkdir(parents=True)
    redis_port, web_port, https_port, http_port = free_port(), free_port(), free_port(), free_port()
    redis_password = secrets.token_urlsafe(24)
    base = f"https://localhost:{https_port}"
    venv_bin = Path(sys.executable).parent

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "DEBUG", "PYTEST"))}
    env.update({
        "PATH": f"{venv_bin}:{env.get('PATH', '')}",
        "CUNYI_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CUNYI_HASH_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "localhost",
        "CSRF_TRUSTED_ORIGINS": base,
        "DATABASE_URL": args.database_url,
        "DB_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": f"redis://:{redis_password}@127.0.0.1:{redis_port}/0",
        "CACHE_URL": f"redis://:{redis_password}@127.0.0.1:{redis_port}/1",
        "TRUSTED_PROXY_COUNT": "1",
        "CUNYI_VAR_DIR": str(tmp / "var"),
        "BACKUP_DIR": str(tmp / "backups"),
        "CUNYI_DEMO_PASSWORD": DEMO_PASSWORD,
        "GUNICORN_BIND": f"127.0.0.1:{web_port}",
        "GUNICORN_WORKERS": args.web_workers,
        "LOG_LEVEL": "INFO",
    })  # fmt: skip
    caddy_env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "LANG")},
        "HOME": str(tmp / "caddy"),
        "XDG_DATA_HOME": str(tmp / "caddy" / "data"),
        "XDG_CONFIG_HOME": str(tmp / "caddy" / "config"),
        "CUNYI_DOMAIN": "localhost",
        "CADDY_TLS": "internal",
        "CUNYI_UPSTREAM": f"127.0.0.1:{web_port}",
        "CADDY_HTTPS_PORT": str(https_port),
        "CADDY_HTTP_PORT": str(http_port),
    }

    stack = Stack(logs, [redis_password])
    ok = False
    try:
        log(f"working folder {tmp}; database {urllib.parse.urlsplit(args.database_url).path.lstrip('/')}")
        recreate_database(args.database_url)

        redis_argv = [part.replace("${REDIS_PASSWORD}", redis_password) for part in commands["redis"]]
        stack.start("redis", [*redis_argv, "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", str(tmp / "redis"), "--save", ""], env)
        import redis

        wait_for("redis", lambda: redis.Redis(port=redis_port, password=redis_password).ping(), 20)
        try:
            redis.Redis(port=redis_port).ping()
            raise SystemExit("redis answered without its password")
        except redis.AuthenticationError:
            log("redis refuses a client without the password (requirepass)")

        # The image's build step, then the migrate job.
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
        started = time.monotonic()
        migrate = stack.start("migrate", commands["migrate"], env)
        if migrate.wait(timeout=600) != 0:
            raise SystemExit(f"the migrate job failed ({migrate.returncode}); see {logs / 'migrate.log'}")
        log(f"migrate job finished in {time.monotonic() - started:.1f} s")

        stack.start("beat", commands["beat"], env)
        stack.start("worker", commands["worker"], env)
        stack.start("web", commands["web"], env)
        caddy_argv = [part.replace("/etc/caddy/Caddyfile", str(ROOT / "deploy" / "Caddyfile")) for part in commands["caddy"]]
        stack.start("caddy", caddy_argv, caddy_env)

        root_ca = tmp / "caddy" / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        wait_for("Caddy's local CA", root_ca.exists, 30)
        browser = Browser(base, root_ca)

        def web_up():
            stack.check_alive()
            return browser.request("GET", "/health/?only=database,broker")[0] == 200

        wait_for("gunicorn behind Caddy", web_up, 90, interval=1)
        log(f"HTTPS up at {base}, certificate verified against Caddy's local root")
        with socket.create_connection(("127.0.0.1", http_port), timeout=5) as plain:
            plain.sendall(b"GET /m/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = plain.recv(500).decode(errors="replace").splitlines()[0]
        assert " 308 " in answer or " 301 " in answer, answer
        log(f"plain HTTP is redirected to HTTPS ({answer.strip()})")

        # Sign in on the phone pages.
        status, _url, _body = browser.request("GET", "/m/login/")
        assert status == 200 and browser.cookie("csrftoken"), status
        status, url, _body = browser.request("POST", "/m/login/", data={
            "username": "village_doctor", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": browser.cookie("csrftoken").value,
        })  # fmt: skip
        session = browser.cookie("sessionid")
        assert status == 200 and "/m/login/" not in url and session is not None, (status, url)
        assert session.secure, "the session cookie must be HTTPS-only in production"
        log(f"signed in as village_doctor over HTTPS (landed on {urllib.parse.urlsplit(url).path}; session cookie Secure)")

        # Book a teleconsult through the API (session + CSRF), with a consultant who has a login
        # (the one the booking notifies).
        with psycopg.connect(args.database_url) as conn:
            linked = conn.execute("SELECT department_id, name FROM telemedicine_consultant WHERE user_id IS NOT NULL").fetchall()
        assert linked, "the seeds link no consultant to a login"
        status, _url, body = browser.request("GET", "/api/v1/teleconsult/departments/")
        assert status == 200, (status, body[:300])
        slot = None
        for department_id in sorted({department for department, _name in linked}):
            names = {name for department, name in linked if department == department_id}
            for days in range(1, 15):
                day = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400 * days))
                status, _url, body = browser.request("GET", f"/api/v1/teleconsult/slots/?department={department_id}&date={day}")
                free = [s for s in (json.loads(body) if status == 200 else []) if s["consultant"] in names]
                if free:
                    slot = free[0]
                    break
            if slot:
                break
        assert slot, "no open slot within two weeks"
        status, _url, body = browser.request("POST", "/api/v1/teleconsult/bookings/", json_body={
            "slot": slot["id"], "patient_name": "冒烟测试患者", "patient_sex": "F", "patient_age": 61,
            "chief_complaint": "冒烟测试：头晕三天", "urgency": "routine", "mode": "video",
        })  # fmt: skip
        assert status == 201, (status, body[:500])
        booking = json.loads(body)
        log(f"booked teleconsult #{booking['id']} with {slot['consultant']} on slot {slot['id']} ({slot['starts_at']})")

        # The worker delivers the consultant's notification (dispatch asked on commit).
        def delivered():
            stack.check_alive()
            with psycopg.connect(args.database_url) as conn:
                rows = conn.execute(
                    "SELECT n.channel, n.status FROM notifications_notification n "
                    "JOIN django_content_type t ON t.id = n.content_type_id "
                    "WHERE t.model = 'consultbooking' AND n.object_id = %s AND n.kind = 'consult_booked'",
                    [booking["id"]],
                ).fetchall()
            return rows if rows and all(status == "sent" for _channel, status in rows) else None

        rows = wait_for("the booking's notification to be sent", delivered, 60)
        log(f"outbox rows of the booking sent by the worker: {rows}")

        # Every health check passes once beat has sent the worker its first heartbeat task.
        def healthy():
            stack.check_alive()
            status, _url, body = browser.request("GET", "/health/")
            return json.loads(body) if status == 200 else None

        report = wait_for("/health/ to answer 200 for every check", healthy, args.health_timeout, interval=3)
        log(f"/health/ 200: {json.dumps(report, ensure_ascii=False)}")
        ok = True
    finally:
        stack.stop()
        stack.tail()
        log(f"{'PASSED' if ok else 'FAILED'} in {time.monotonic() - STARTED:.1f} s (logs in {logs})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
