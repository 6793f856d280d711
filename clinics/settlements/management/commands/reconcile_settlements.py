import datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from clinics.models import Facility
from clinics.settlements.services import reconciliation_run, statement_import


def month_arg(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise CommandError(_("Give the month as YYYY-MM, for example 2026-11."))


class Command(BaseCommand):
    help = "Import the insurance bureau's statement of a month (totals, optional detail lines) and reconcile the log."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--statement", required=True, help="totals file (like interface 3201), CSV or XLSX")
        parser.add_argument("--detail", help="detail lines (like interface 3202), CSV or XLSX")

    def handle(self, *args, month, statement, detail=None, **options):
        day = month_arg(month)
        files = [Path(statement)] + ([Path(detail)] if detail else [])
        for path in files:
            if not path.is_file():
                raise CommandError(_("No such file: %(path)s") % {"path": path})
        try:
            imported = statement_import(
                month=day, statement_data=files[0].read_bytes(), statement_filename=files[0].name,
                detail_data=files[1].read_bytes() if detail else None, detail_filename=files[1].name if detail else "",
            )
            results = reconciliation_run(statement=imported)
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages))
        balanced = [r for r in results if r.balanced]
        self.stdout.write(_("%(month)s: %(balanced)s of %(total)s clinics balanced.")
                          % {"month": month, "balanced": len(balanced), "total": len(results)})
        clinics = Facility.objects.in_bulk([r.facility_id for r in results])
        for r in sorted((r for r in results if not r.balanced), key=lambda r: clinics[r.facility_id].code):
            self.stdout.write(
                _("  %(clinic)s: settlements %(ours)s here / %(theirs)s at bureau, fees %(our_fee)s / %(their_fee)s; "
                  "lines missing here %(mh)s, missing at bureau %(mb)s, amounts differ %(ad)s")
                % {"clinic": f"{clinics[r.facility_id].code} {clinics[r.facility_id].name}", "ours": r.our_count, "theirs": r.bureau_count, "our_fee": r.our_medfee,
                   "their_fee": r.bureau_medfee, "mh": r.missing_here, "mb": r.missing_at_bureau, "ad": r.amounts_differ}
            )
