"""`manage.py export_bank_files --month YYYY-MM --out DIR`: the month's bank payment files (one
per paying bank, numbered parts beyond a format's records per file) and the control sheet, for
every approved or paid run of the month, county-wide (the operator's command)."""

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.months import month_option
from staffing.payroll.bankfiles import selectors, services
from staffing.payroll.bankfiles.render import BankFileError


def _writable_dir(out: str) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise CommandError(_("%(path)s is a file, not a folder: give a folder for the bank files.") % {"path": out})
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise CommandError(_("The folder %(path)s cannot be written (%(reason)s).") % {"path": out, "reason": exc.strerror or exc}) from None
    return path


class Command(BaseCommand):
    help = "Write the month's bank payment files and control sheet for its approved (or paid) pay runs."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--out", required=True, help="folder to write the files to (created if missing)")

    def handle(self, *args, month, out, **options):
        first = month_option(month)
        runs = selectors.exportable_runs(month=first, county=True)
        if not runs:
            raise CommandError(_("No approved pay run for %(month)s: approve the month's run first.") % {"month": f"{first:%Y-%m}"})
        folder = _writable_dir(out)
        try:
            export = services.bank_export_build(runs=runs, acting_user=None)
        except BankFileError as exc:
            raise CommandError(str(exc)) from None
        for name, content in export.members():
            target = folder / name
            temporary = target.with_name(f".{name}.part")
            try:
                temporary.write_bytes(content)
                os.replace(temporary, target)
            except OSError as exc:
                temporary.unlink(missing_ok=True)
                raise CommandError(_("Could not write %(path)s (%(error)s): check the disk space and the folder's permissions.")
                                   % {"path": target, "error": exc.strerror or exc}) from None
        for rendered in export.files:
            self.stdout.write(_("%(name)s: %(records)d records, total %(total)s")
                              % {"name": rendered.name, "records": rendered.records, "total": rendered.total})
        self.stdout.write(_("%(name)s: control sheet") % {"name": export.control_name})
        total = sum((f.total for f in export.files), 0)
        self.stdout.write(_("%(files)d bank files, %(records)d records, total %(total)s, written to %(folder)s")
                          % {"files": len(export.files), "records": sum(f.records for f in export.files), "total": total, "folder": folder})
