"""Bench: booking teleconsults through the API on PostgreSQL behind gunicorn on loopback, beside
the minimal insert endpoint (`bench/minimal_urls.py`) on the same server: production's settings
(DEBUG off, persistent connections) and production's gunicorn (`deploy/gunicorn.conf.py`, sized
from this machine's cores; --workers/--threads override it).

1. Throughput: 20 concurrent clients (token auth, keep-alive) each book their own slots until a
   bounded number of requests (or a time limit) is reached: requests/s, p50 and p95 latency.
2. Race trial: 100 rounds; each round opens one fresh single-place slot and 20 clients released
   by a barrier book it at once. Counts double bookings (rounds where the slot holds more than its
   places, or more than one 201) and 5xx responses; both must be 0.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cunyi_booking_bench \\
        .venv/bin/python bench/teleconsult_booking.py [--clients 20] [--requests 600] [--rounds 100] [--repeat 3]

Its own database (cunyi_booking_bench unless DATABASE_URL says otherwise; createdb it first) and
its own Redis database (12 unless CELERY_BROKER_URL says otherwise; emptied at the end). Migrates
the database, creates its own synthetic rows (usernames start with "bench_tc_") and deletes them
afterwards, and VACUUM ANALYZEs the tables both endpoints touch first (what autovacuum would have
done; this server runs without it). Before measuring, every worker thread serves a few requests
of each endpoint (its imports, caches and connections warm), not counted. Not part of the test
suite.
"""

import argparse
import datetime
import http.client
import json
import os
import runpy
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cunyi_booking_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")
PREFIX = "bench_tc_"
# The tables either endpoint reads or writes.
VACUUMED = (
    "knox_authtoken", "core_apitokenuse", "auth_user", "clinics_userscope", "staffing_posting", "staffing_doctor",
    "clinics_facility", "telemedicine_slot", "telemedicine_consultant", "telemedicine_consultbooking",
    "telemedicine_bookingevent", "clinics_auditentry", "rosters_leaverequest", "rosters_calendaryear",
    "notifications_notification", "bench_minimal_insert",
)
URL = "/api/v1/teleconsult/bookings/"


def setup_django():
    import django

    django.setup()


def migrate():
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_fixtures(clients: int, *, consultant_login: bool = False):
    """A county hospital department with a consultant, and `clients` village doctors (each with an
    API token) at telemedicine-linked clinics. `consultant_login`: the consultant has an account
    (with an e-mail address), so every booking also queues the consultant's notice."""
    from django.contrib.auth import get_user_model

    from clinics.models import Department, Facility, Role, Township
    from clinics.roles import role_assign, seed_roles
    from core.tokens import api_token_create
    from core.validators import resident_id_check_char
    from staffing.models import Doctor, Posting
    from telemedicine.models import Consultant

    seed_roles({})
    from staffing.rosters.services.holidays import holiday_year_load

    holiday_year_load(year=datetime.date.today().year)  # the leave checks read the calendar
    User = get_user_model()
    township, _ = Township.objects.get_or_create(code="999999999", defaults={"name": "基准测试乡", "kind": "township"})
    hospital, _ = Facility.objects.get_or_create(
        code=f"{PREFIX}CH"[:12], defaults={"kind": "county_hospital", "name": "基准测试医院（演示）", "township": township, "telemedicine_enabled": True, "is_demo": True}
    )
    department, _ = Department.objects.get_or_create(facility=hospital, code="BENCH", defaults={"name": "内科"})
    consultant, _ = Consultant.objects.get_or_create(department=department, name="基准专家", defaults={"is_demo": True})
    if consultant_login and consultant.user_id is None:
        login = User.objects.create(username=f"{PREFIX}consultant", email="bench-consultant@example.cn")
        role_assign(user=login, role=Role.CONSULTANT, facility=hospital, township=township)
        consultant.user = login
        consultant.save(update_fields=["user"])
    tokens = []
    for n in range(clients):
        clinic, _ = Facility.objects.get_or_create(
            code=f"99999999{n:04d}",
            defaults={"kind": "village_clinic", "name": f"基准测试村{n}卫生室（演示）", "township": township, "telemedicine_enabled": True, "is_demo": True},
        )
        user, created = User.objects.get_or_create(username=f"{PREFIX}{n}")
        if created:
            first17 = f"451028198001{(n % 28) + 1:02d}{n % 1000:03d}"
            doctor = Doctor.objects.create(
                name=f"基准村医{n}", sex="M" if int(first17[-1]) % 2 else "F", birth_date=datetime.date(1980, 1, (n % 28) + 1),
                id_number=first17 + resident_id_check_char(first17), mobile=f"139{n:08d}", qualification="village_doctor",
                hire_date=datetime.date(2020, 1, 1), user=user, is_demo=True,
            )
            Posting.objects.create(doctor=doctor, facility=clinic, start_date=doctor.hire_date)
            role_assign(user=user, role=Role.VILLAGE_DOCTOR, facility=clinic, township=township)
        tokens.append(api_token_create(user=user)[1])
    return consultant, tokens


def make_slots(consultant, count: int, day_offset: int, places: int = 1) -> list[int]:
    from django.utils import timezone

    from telemedicine.models import Slot
    from telemedicine.services.calendar import local_dt

    day = timezone.localdate() + datetime.timedelta(days=day_offset)
    existing = Slot.objects.filter(consultant=consultant).count()
    slots = []
    for i in range(count):
        minute = existing + i  # one-minute slots, never overlapping for this consultant
        start = local_dt(day, datetime.time(0, 0)) + datetime.timedelta(minutes=minute)
        slots.append(Slot(consultant=consultant, department_id=consultant.department_id, starts_at=start, ends_at=start + datetime.timedelta(minutes=1), places=places))
    return [s.pk for s in Slot.objects.bulk_create(slots)]


class Client:
    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def book(self, slot_id: int, patient: str, url: str = URL) -> tuple[int, float, dict]:
        body = json.dumps(
            {"slot": slot_id, "patient_name": patient, "patient_sex": "F", "patient_age": 60,
             "chief_complaint": "基准测试：头晕", "urgency": "routine", "mode": "video"}
        )
        headers = {"Content-Type": "application/json", "Authorization": f"Token {self.token}", "Host": "127.0.0.1"}
        started = time.perf_counter()
        try:
            self.conn.request("POST", url, body=body, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 599, time.perf_counter() - started, {}
        elapsed = time.perf_counter() - started
        try:
            data = json.loads(payload)
        except ValueError:
            data = {"raw": payload[:200].decode(errors="replace")}
        return response.status, elapsed, data


def throughput(port, tokens, slot_ids, limit_requests, limit_seconds, url=URL):
    per_client = limit_requests // len(tokens)
    latencies, statuses, refusals, lock = [], {}, {}, threading.Lock()
    deadline = time.monotonic() + limit_seconds
    barrier = threading.Barrier(len(tokens))

    def run(index, token):
        client = Client(port, token)
        mine = slot_ids[index * per_client:(index + 1) * per_client]
        barrier.wait()
        for n, slot_id in enumerate(mine):
            if time.monotonic() > deadline:
                break
            status, elapsed, data = client.book(slot_id, f"吞吐患者{index}-{n}", url)
            with lock:
                if status >= 400:
                    refusals.setdefault(status, data)
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "wall_s": round(wall, 2),
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
        "statuses": statuses,
        "refusals": {code: str(data)[:200] for code, data in refusals.items()},
    }


def race(port, tokens, consultant, rounds):
    from telemedicine.models import ConsultBooking, Slot

    clients = [Client(port, t) for t in tokens]
    double, server_errors, winners, other = 0, 0, [], {}
    messages = set()
    slot_ids = make_slots(consultant, rounds, day_offset=3, places=1)
    for round_no, slot_id in enumerate(slot_ids):
        barrier = threading.Barrier(len(clients))
        results = [None] * len(clients)

        def run(i, client, slot_id=slot_id, barrier=barrier, results=results, round_no=round_no):
            barrier.wait()
            results[i] = client.book(slot_id, f"竞争患者{round_no}-{i}")

        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = [r[0] for r in results]
        wins = codes.count(201)
        winners.append(wins)
        server_errors += sum(1 for c in codes if c >= 500)
        for code, _elapsed, data in results:
            if code == 409:
                messages.add(data.get("detail", ""))
            elif code != 201:
                other[code] = other.get(code, 0) + 1
        slot = Slot.objects.get(pk=slot_id)
        held = ConsultBooking.objects.filter(slot_id=slot_id).count()
        if wins > 1 or held > slot.places or slot.booked > slot.places:
            double += 1
    return {
        "rounds": rounds,
        "double_bookings": double,
        "server_errors": server_errors,
        "rounds_with_one_winner": winners.count(1),
        "other_statuses": other,
        "refusal_messages": sorted(messages),
    }


def cleanup():
    from django.contrib.auth import get_user_model

    from clinics.models import Facility
    from core.models import AuditEntry
    from notifications.models import Notification
    from staffing.models import Doctor, Posting
    from telemedicine.models import Consultant, ConsultBooking, Slot

    bookings = ConsultBooking.objects.filter(facility__code__startswith="99999999")
    Notification.objects.filter(object_id__in=list(bookings.values_list("pk", flat=True))).delete()
    AuditEntry.objects.filter(action__startswith="teleconsult.booking", object_id__in=[str(pk) for pk in bookings.values_list("pk", flat=True)]).delete()
    bookings.delete()
    consultants = Consultant.objects.filter(name="基准专家")
    Slot.objects.filter(consultant__in=consultants).delete()
    consultants.delete()
    Posting.objects.filter(doctor__user__username__startswith=PREFIX).delete()
    Doctor.objects.filter(user__username__startswith=PREFIX).delete()
    get_user_model().objects.filter(username__startswith=PREFIX).delete()
    Facility.objects.filter(code__startswith="99999999").delete()
    Facility.objects.filter(code=f"{PREFIX}CH"[:12]).delete()
    try:
        import redis

        redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()
    except Exception as exc:  # the broker is only where on-commit dispatch messages went
        print(f"(could not clear the Redis DB: {exc})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=600, help="throughput phase: total requests")
    parser.add_argument("--seconds", type=int, default=60, help="throughput phase: time limit")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: production's, deploy/gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: production's)")
    parser.add_argument("--repeat", type=int, default=3, help="throughput phases, each beside a phase of the minimal endpoint")
    parser.add_argument("--consultant-login", action="store_true",
                        help="the consultant has an account: each booking also queues the consultant's notice")
    parser.add_argument("--warm", type=int, default=100, help="requests to each endpoint before measuring (not counted)")
    args = parser.parse_args()

    migrate()
    setup_django()
    cleanup()
    consultant, tokens = create_fixtures(args.clients, consultant_login=args.consultant_login)
    per_client = args.requests // args.clients
    throughput_slots = [make_slots(consultant, per_client * args.clients, day_offset=2) for _ in range(args.repeat)]
    warm_slots = make_slots(consultant, args.warm, day_offset=2) if args.warm else []
    from django.db import connection

    sys.path.insert(0, str(ROOT / "bench"))
    from minimal_urls import CREATE, MINIMAL_URL

    with connection.cursor() as cursor:
        cursor.execute(CREATE)
        # What autovacuum has done in production by the time a booking comes (this server runs
        # without it): earlier runs' deleted rows gone from the indexes, and statistics for the
        # planner, which without them probed the patients' overlap through the exclusion
        # constraint's GiST index (4 ms) instead of the patient key's B-tree.
        for table in VACUUMED:
            cursor.execute(f"VACUUM ANALYZE {table}")

    port = free_port()
    # Production's server settings for both endpoints: DEBUG off, persistent connections, and
    # gunicorn as docker-compose runs it (deploy/gunicorn.conf.py: workers and threads sized from
    # this machine's cores, its access log), on loopback; the log goes nowhere.
    env = {**os.environ, "DB_CONN_MAX_AGE": "60", "DEBUG": "0", "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "bench.minimal_settings", "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_LOGLEVEL": "warning"}
    production = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    workers, threads = args.workers or production["workers"], args.threads or production["threads"]
    env.update(GUNICORN_WORKERS=str(workers), GUNICORN_THREADS=str(threads))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--config", "deploy/gunicorn.conf.py"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        Client(port, tokens[0]).book(0, "预热")  # warm the workers (a 400: no such slot)
        Client(port, tokens[0]).book(0, "预热", MINIMAL_URL)
        if warm_slots:  # every worker thread's first requests, for both endpoints alike
            throughput(port, tokens, list(range(len(warm_slots))), len(warm_slots), args.seconds, MINIMAL_URL)
            throughput(port, tokens, warm_slots, len(warm_slots), args.seconds)
        bookings, minimal = [], []
        for slots in throughput_slots:  # interleaved: the minimal endpoint, then bookings
            minimal.append(throughput(port, tokens, list(range(len(slots))), args.requests, args.seconds, MINIMAL_URL))
            print("minimal insert:", json.dumps(minimal[-1], ensure_ascii=False), flush=True)
            bookings.append(throughput(port, tokens, slots, args.requests, args.seconds))
            print("booking:", json.dumps(bookings[-1], ensure_ascii=False), flush=True)
        from _baseline import report

        report(f"booking req/s, {args.clients} clients", [t["rps"] for t in bookings], [t["rps"] for t in minimal],
               unit="req/s", higher_is_better=True)
        report("p95 latency", [t["p95_ms"] for t in bookings], [t["p95_ms"] for t in minimal], unit="ms")
        tp = bookings[-1]
        rc = race(port, tokens, consultant, args.rounds)
        print("race:", json.dumps(rc, ensure_ascii=False))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        cleanup()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_minimal_insert")
    print(
        f"gunicorn {workers} workers × {threads} threads (deploy/gunicorn.conf.py), {args.clients} clients"
        f"{', consultant notified' if args.consultant_login else ''}: "
        f"{tp['rps']} req/s, p50 {tp['p50_ms']} ms, p95 {tp['p95_ms']} ms over {tp['requests']} bookings; "
        f"race {rc['rounds']} rounds: double bookings {rc['double_bookings']}, 5xx {rc['server_errors']}"
    )


if __name__ == "__main__":
    main()
