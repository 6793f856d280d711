"""Reconcile with the national platform, its way: Cunyi's side of 3201 for a period, the
platform's 3201 answers, and the platform's 3202 result file."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from clinics.models import Facility
from clinics.settlements.selectors import item_advice
from clinics.settlements.services.reconciliation import (
    answers_import,
    check_period,
    find_clinic,
    input_fields,
    month_period,
    parse_date_text,
    reconciliation_compute,
    result_import,
    result_scope,
)
from core.months import month_option


def _read(path_text: str) -> tuple[bytes, str]:
    path = Path(path_text)
    if not path.is_file():
        raise CommandError(_("No such file: %(path)s") % {"path": path})
    return path.read_bytes(), path.name


def _answer(line) -> str:
    if not line.stmt_rslt:
        return _("no answer from the platform yet")
    return f"stmt_rslt={line.get_stmt_rslt_display()} {line.stmt_rslt_dscr}".strip()


class Command(BaseCommand):
    help = ("Compute Cunyi's side of 3201 for a period (per clinic, insutype, clr_type and clearing agency), "
            "record the platform's 3201 answers (--answers) and import its 3202 result (--result).")

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM (the whole month)")
        parser.add_argument("--begin", help="stmt_begndate YYYY-MM-DD (with --end, instead of --month)")
        parser.add_argument("--end", help="stmt_enddate YYYY-MM-DD")
        parser.add_argument("--clinic", help="one clinic: its division code or platform institution code")
        parser.add_argument("--answers", help="the platform's 3201 answers: JSON (stmtinfo) or CSV/XLSX")
        parser.add_argument("--result", help="the platform's 3202 result: result.txt or the downloaded zip")
        parser.add_argument("--setl-optins", dest="setl_optins", default="", help="the 3202 call's clearing agency")
        parser.add_argument("--clr-type", dest="clr_type", default="", help="the 3202 call's clearing type")
        parser.add_argument("--insutype", default="", help="only this insurance type in the 3202 comparison")
        # Before issue 15 these imported a statement in Cunyi's own columns and decided "balanced"
        # from it; the platform's answers are the record now. Refused with the way to do it.
        parser.add_argument("--statement", help="(no longer taken: see --answers)")
        parser.add_argument("--detail", help="(no longer taken: see --result)")

    def _period(self, month, begin, end):
        if month and (begin or end):
            raise CommandError(_("Give either --month or --begin and --end, not both."))
        if month:
            return month_period(month_option(month))
        if not (begin and end):
            raise CommandError(_("Give the period: --month YYYY-MM, or --begin and --end as YYYY-MM-DD."))
        try:
            return check_period(parse_date_text(begin, what="--begin"), parse_date_text(end, what="--end"))
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from None

    def handle(self, *args, month=None, begin=None, end=None, clinic=None, answers=None, result=None,
               setl_optins="", clr_type="", insutype="", statement=None, detail=None, **options):
        if statement or detail:
            raise CommandError(_(
                "--statement and --detail took a statement in Cunyi's own columns, and Cunyi decided itself whether "
                "the month balanced. The platform decides now: run this command to get Cunyi's 3201 figures, send "
                "them to the platform, and give its answers with --answers and its 3202 result with --result."))
        facility = None
        if clinic:
            facility = find_clinic(clinic)
            if facility is None:
                raise CommandError(_("No clinic has the code “%(code)s” (division code or platform code).")
                                   % {"code": clinic})
        if result and (facility is None or not (month or begin or end)):
            # `--result FILE` alone: the clinic and month are read from the file (its rows' settlements).
            try:
                found, found_begin, found_end = result_scope(data=_read(result)[0], filename=Path(result).name,
                                                              facility=facility)
            except ValidationError as exc:
                raise CommandError("\n".join(exc.messages)) from None
            facility = facility or found
            if not (month or begin or end):
                month = found_begin.strftime("%Y-%m")
            self.stdout.write(_("The result file answers %(clinic)s %(name)s for %(month)s (read from its rows; "
                                "--clinic and --month say otherwise).")
                              % {"clinic": facility.code, "name": facility.name, "month": month or f"{begin}..{end}"})
        begin, end = self._period(month, begin, end)
        try:
            results = reconciliation_compute(begin=begin, end=end,
                                             facility_ids=[facility.pk] if facility else None)
            if answers:
                data, name = _read(answers)
                recorded = answers_import(data=data, filename=name, begin=begin, end=end)
                self.stdout.write(_("%(n)s 3201 answers recorded.") % {"n": len(recorded)})
            report = None
            if result:
                data, name = _read(result)
                report = result_import(data=data, filename=name, facility=facility, begin=begin, end=end,
                                       setl_optins=setl_optins, clr_type=clr_type, insutype=insutype)
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from None
        self._print_3201(results, begin, end)
        if report is not None:
            self._print_3202(report)

    def _print_3201(self, results, begin, end):
        clinics = Facility.objects.in_bulk([r.facility_id for r in results])
        for rec in results:  # the answers just recorded may have changed it
            rec.refresh_from_db(fields=["balanced"])
        balanced = sum(1 for r in results if r.balanced)
        self.stdout.write(_("%(begin)s..%(end)s: %(total)s clinics; the platform answered balanced for %(balanced)s.")
                          % {"begin": begin, "end": end, "total": len(results), "balanced": balanced})
        for rec in sorted(results, key=lambda r: clinics[r.facility_id].code):
            clinic = clinics[rec.facility_id]
            self.stdout.write(f"{clinic.code} {clinic.name} ({clinic.platform_code or '—'})")
            for line in rec.totals.all():
                fields = input_fields(line)
                self.stdout.write("  3201 " + " ".join(f"{k}={v if v != '' else '—'}" for k, v in fields.items())
                                  + "  → " + _answer(line))

    def _print_3202(self, report):
        rec = report.reconciliation
        self.stdout.write(_("3202 result %(file)s (%(encoding)s): %(rows)s rows — balanced %(ok)s, missing here %(mh)s, "
                            "missing at the centre %(mb)s, amounts differ %(ad)s, booked elsewhere %(os)s, to check %(un)s; "
                            "%(silent)s of Cunyi's settlements are not in the result.")
                          % {"file": rec.result_filename, "encoding": report.encoding, "rows": len(report.items),
                             "ok": rec.matched, "mh": rec.missing_here, "mb": rec.missing_at_bureau,
                             "ad": rec.amounts_differ, "os": rec.other_scope, "un": rec.unexplained,
                             "silent": report.not_in_result})
        for item in report.items:
            self.stdout.write(
                _("  row %(row)s setl_id=%(setl)s mdtrt_id=%(mdtrt)s psn_no=%(psn)s stmt_rslt=%(rslt)s: %(status)s. %(advice)s")
                % {"row": item.row_number, "setl": item.setl_id or "—", "mdtrt": item.mdtrt_id or "—",
                   "psn": item.psn_no or "—", "rslt": item.stmt_rslt, "status": item.get_status_display(),
                   "advice": item_advice(item)})
