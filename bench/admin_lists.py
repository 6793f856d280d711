"""Every admin changelist a county admin opens, and the dashboard, against the cheapest admin page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cunyi_lists_prov \
        .venv/bin/python bench/admin_lists.py [--rounds 5] [--only duty] [--markdown]

Needs a province-scale database: `load_seeds`, `seed_synthetic --clinics 14000`, several months of
`generate_roster`, `run_payroll` and `bench/settlement_dashboard_data.py` (the commands are in
bench/RESULTS.md). DEBUG is off and connections persist between requests (DB_CONN_MAX_AGE=60), as
in production. The county admin signs in through Django's test client; each page (every
changelist the county admin may open, each list's search for a clinic code — a settlement id on
the settlement lists —, and the admin index, which is the dashboard) is requested right after the
baseline `/admin/auth/group/` (for a role that may not open it, the insurance schemes) in every round, so both see the same machine. For each page: min and
median ms, the query count, and the median's ratio to the baseline's median. Not part of CI.
"""

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DEBUG"] = "false"
os.environ.setdefault("DB_CONN_MAX_AGE", "60")
os.environ.setdefault("LOG_LEVEL", "WARNING")

BASELINE = "/admin/auth/group/"
# Where the signed-in role may not open the group list (a county admin is not a superuser): the
# insurance schemes, a handful of rows with no joins, the cheapest list a county admin opens.
FALLBACK_BASELINE = "/admin/payroll/insurancescheme/"


def pages(client, search_terms: dict, baseline: str) -> list[tuple[str, str]]:
    """(label, url) of every changelist the signed-in user gets a 200 for, its search, the index."""
    from django.contrib import admin
    from django.urls import reverse

    found = [("admin index (dashboard)", "/admin/")]
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        if url == baseline:
            continue
        status = client.get(url).status_code
        if status != 200:
            print(f"skipped {opts.label}: HTTP {status}", file=sys.stderr)
            continue
        found.append((opts.label, url))
        if model_admin.search_fields:
            term = search_terms.get(opts.label, search_terms["*"])
            found.append((f"{opts.label} ?q={term}", f"{url}?q={term}"))
    return found


def search_terms() -> dict:
    from clinics.models import Facility
    from clinics.settlements.models import SettlementRecord

    clinic = Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC, code__startswith="99").order_by("-code").first()
    clinic = clinic or Facility.objects.filter(kind=Facility.Kind.VILLAGE_CLINIC).order_by("code").first()
    setl_id = SettlementRecord.objects.order_by("-id").values_list("setl_id", flat=True).first() or "none"
    return {"*": clinic.code, "settlements.SettlementRecord": setl_id, "settlements.RejectedSettlementRow": setl_id,
            "settlements.ReconciliationItem": setl_id}


def timed(client, url: str) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    return elapsed * 1000, len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="", help="only pages whose label contains one of these comma-separated texts")
    parser.add_argument("--user", default="county_admin")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from staffing.rosters.models import DutyDay

    assert not settings.DEBUG
    client = Client(HTTP_HOST="127.0.0.1", raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username=args.user))
    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # a skipped page's traceback
    baseline = BASELINE if client.get(BASELINE).status_code == 200 else FALLBACK_BASELINE
    wanted = [text.strip().lower() for text in args.only.split(",")]
    todo = [(label, url) for label, url in pages(client, search_terms(), baseline) if any(w in label.lower() for w in wanted)]
    for _, url in [("baseline", baseline), *todo]:
        client.get(url)  # warm: templates, caches, the connection
    base_times, rows = [], {label: ([], []) for label, _ in todo}
    for _ in range(args.rounds):
        for label, url in todo:
            base_times.append(timed(client, baseline)[0])
            elapsed, queries = timed(client, url)
            rows[label][0].append(elapsed)
            rows[label][1].append(queries)
    base = statistics.median(base_times)
    print(f"{connection.vendor}; {DutyDay.objects.count()} duty rows; DEBUG {settings.DEBUG}; "
          f"CONN_MAX_AGE {settings.DATABASES['default']['CONN_MAX_AGE']}; load average {os.getloadavg()[0]:.1f}; "
          f"{args.rounds} rounds")
    print(f"baseline {baseline}: min {min(base_times):.0f} ms, median {base:.0f} ms ({len(base_times)} requests)")
    table = []
    for label, _ in todo:
        times, counts = rows[label]
        median = statistics.median(times)
        table.append((label, min(times), median, max(counts), median / base))
    width = max(len(r[0]) for r in table)
    for label, low, median, queries, ratio in table:
        print(f"{label:<{width}}  min {low:8.0f} ms  median {median:8.0f} ms  {queries:3d} queries  {ratio:7.1f}×")
    if args.markdown:
        print(f"\n| page | min ms | median ms | queries | × baseline ({base:.0f} ms) |\n|---|---|---|---|---|")
        for label, low, median, queries, ratio in table:
            print(f"| {label} | {low:.0f} | {median:.0f} | {queries} | {ratio:.1f}× |")


if __name__ == "__main__":
    main()
