from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.imports import empty_cell_rule
from staffing.rosters.holidays import package_years
from staffing.rosters.selectors import calendar_status
from staffing.rosters.services.holidays import holiday_calendar_import, holiday_year_load, holiday_years_load_all


class Command(BaseCommand):
    help = "Load, import and list the official holiday calendar (public holidays and make-up workdays)."

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--load", type=int, metavar="YEAR", help="load one year from the chinesecalendar package")
        action.add_argument("--all", action="store_true", help="load every year the package covers")
        action.add_argument("--status", action="store_true", help="list the years loaded")
        action.add_argument("--import-csv", metavar="FILE", help="import a CSV/XLSX with columns date, kind, name. " + empty_cell_rule("update"))
        parser.add_argument("--replace", action="store_true", help="reload years already loaded from the package")

    def handle(self, *args, load=None, all=False, status=False, import_csv=None, replace=False, **options):
        if status:
            return self._status()
        if import_csv:
            return self._import(Path(import_csv))
        try:
            if all:
                results = holiday_years_load_all(replace=replace)
            else:
                results = {load: holiday_year_load(year=load, replace=replace)[1]}
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        loaded = [y for y, done in results.items() if done]
        kept = [y for y, done in results.items() if not done]
        self.stdout.write(f"loaded: {', '.join(map(str, loaded)) or '-'}; already loaded (kept): {', '.join(map(str, kept)) or '-'}")

    def _status(self):
        rows = calendar_status()
        first, last = package_years()[0], package_years()[-1]
        self.stdout.write(f"chinesecalendar package covers {first}–{last}")
        if not rows:
            self.stdout.write("no year loaded: run `manage.py holidays --all`")
        for row in rows:
            self.stdout.write(f"{row.year}  {row.holidays:3d} holidays  {row.makeup_workdays:2d} make-up workdays  ({row.source})")

    def _import(self, path: Path):
        if not path.exists():
            raise CommandError(f"no such file: {path}")
        report = holiday_calendar_import(upload=path.read_bytes(), filename=path.name)
        if not report.ok:
            for number, reason in report.errors:
                self.stderr.write(f"row {number}: {reason}")
            raise CommandError(f"{len(report.errors)} bad rows: nothing imported")
        self.stdout.write(f"imported {report.days} days for {', '.join(map(str, report.years))}")
