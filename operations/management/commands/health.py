import json

from django.core.management.base import BaseCommand

from operations.health import CHECKS
from operations.selectors import health_summary


class Command(BaseCommand):
    help = "Run the health checks (all, or --only a,b); exit 1 when one fails (compose healthchecks call it)."

    def add_arguments(self, parser):
        parser.add_argument("--only", default="", help=f"Comma-separated: {', '.join(CHECKS)}")

    def handle(self, *args, only="", **options):
        names = {name for name in only.split(",") if name} or None
        report = health_summary(only=names)
        self.stdout.write(json.dumps({name: r for name, r in report["checks"].items()}, ensure_ascii=False, default=str))
        if not report["healthy"]:
            raise SystemExit(1)
