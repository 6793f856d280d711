"""`manage.py export_tax_filing --month YYYY-MM --out FILE.xlsx`: the month's withholding filing for
the tax client (正常工资薪金收入, 全年一次性奖金收入 when a bonus is taxed separately, 人员信息采集 for
people hired or leaving), for every approved or paid run of the month, county-wide."""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.months import month_option
from staffing.payroll.tax.filing import FilingError, changes_in_month, tax_filing_build


class Command(BaseCommand):
    help = "Write the month's income-tax withholding filing (the tax client's import workbook) for its approved or paid pay runs."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--out", required=True, help="the .xlsx file to write")

    def handle(self, *args, month, out, **options):
        first = month_option(month)
        target = Path(out)
        if target.suffix.lower() != ".xlsx":
            raise CommandError(_("--out must name an .xlsx file, for example 个税-2026-10.xlsx (got “%(out)s”).") % {"out": out})
        if target.is_dir():
            raise CommandError(_("%(path)s is a folder: give the name of the .xlsx file to write.") % {"path": out})
        try:
            filing = tax_filing_build(month=first)
        except FilingError as exc:
            raise CommandError(str(exc)) from None
        temporary = target.with_name(f".{target.name}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(filing.content)
            os.replace(temporary, target)
        except OSError as exc:
            raise CommandError(_("The file %(path)s cannot be written (%(reason)s).") % {"path": out, "reason": exc.strerror or exc}) from None
        self.stdout.write(_("%(people)d persons filed (%(bonus)d with a separately taxed bonus, %(changes)d hired or leaving) for %(month)s, "
                            "written to %(path)s") % {"people": len(filing.people), "bonus": filing.bonus_count,
                                                      "changes": len(changes_in_month(filing)), "month": f"{first:%Y-%m}", "path": target})
