"""Write the 3202 detail file of a month (对明细账上传文件), as the platform takes it."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from clinics.settlements.services.reconciliation import (
    detail_file,
    detail_rows,
    detail_zip,
    find_clinic,
    month_period,
)
from core.months import month_option


def summary_lines(summary, begin, end) -> list[str]:
    """The 3202 input totals the clerk types in, overall and per clinic × clearing agency × type."""
    lines = [
        _("%(rows)s rows (%(reversals)s of them reversals, flag 1) for %(begin)s..%(end)s.")
        % {"rows": summary.rows, "reversals": summary.reversals, "begin": begin, "end": end},
        _("3202 input: medfee_sumamt=%(medfee).2f fund_pay_sumamt=%(fund).2f cash_payamt=%(cash).2f "
          "fixmedins_setl_cnt=%(cnt)s")
        % {"medfee": summary.medfee_sumamt, "fund": summary.fund_pay_sumamt, "cash": summary.cash_payamt,
           "cnt": summary.fixmedins_setl_cnt},
    ]
    if len(summary.groups) > 1:
        lines.append(_("The platform takes one file per clinic, clearing agency (setl_optins) and clr_type; this file "
                       "holds several — give --clinic, --setl-optins and --clr-type for one of them:"))
        for (clinic, optins, clr_type), group in sorted(summary.groups.items()):
            lines.append(
                _("  %(clinic)s setl_optins=%(optins)s clr_type=%(clr_type)s: %(rows)s rows, medfee_sumamt=%(medfee).2f "
                  "fund_pay_sumamt=%(fund).2f cash_payamt=%(cash).2f fixmedins_setl_cnt=%(cnt)s")
                % {"clinic": clinic, "optins": optins or "—", "clr_type": clr_type, "rows": group.rows,
                   "medfee": group.medfee_sumamt, "fund": group.fund_pay_sumamt, "cash": group.cash_payamt,
                   "cnt": group.fixmedins_setl_cnt})
    return lines


class Command(BaseCommand):
    help = ("Write the platform's 3202 detail file of a month: 7 TAB-separated columns, no header, UTF-8, "
            "a refunded settlement as two rows; --zip for the 9101 container.")

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--clinic", help="the clinic's division code or platform institution code")
        parser.add_argument("--setl-optins", dest="setl_optins", help="only this clearing agency (clr_optins)")
        parser.add_argument("--clr-type", dest="clr_type", help="only this clearing type")
        parser.add_argument("--out", required=True, help="the file to write")
        parser.add_argument("--zip", action="store_true", help="write a .zip holding the .txt (9101 upload)")

    def handle(self, *args, month, out, clinic=None, setl_optins=None, clr_type=None, zip=False, **options):
        begin, end = month_period(month_option(month))
        facility_ids = None
        if clinic:
            facility = find_clinic(clinic)
            if facility is None:
                raise CommandError(_("No clinic has the code “%(code)s” (division code or platform code).")
                                   % {"code": clinic})
            facility_ids = [facility.pk]
        try:
            content, summary = detail_file(detail_rows(begin=begin, end=end, facility_ids=facility_ids,
                                                       setl_optins=setl_optins, clr_type=clr_type))
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from None
        path = Path(out)
        if zip:
            content = detail_zip(content, f"{path.stem}.txt")
        try:
            path.write_bytes(content)
        except OSError as exc:
            raise CommandError(_("Cannot write %(path)s: %(error)s") % {"path": path, "error": exc.strerror}) from None
        self.stdout.write(_("Wrote %(path)s.") % {"path": path})
        for line in summary_lines(summary, begin, end):
            self.stdout.write(line)
