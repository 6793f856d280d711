from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from clinics.settlements.services import settlements_import

SHOWN_REJECTS = 50


class Command(BaseCommand):
    help = "Import a CSV or XLSX file of settlements. Idempotent on setl_id; bad rows are kept with their reason."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8 or GB18030) or XLSX file with the national platform's columns")
        parser.add_argument("--user", help="username recorded as the uploader (an insurance terminal is held to its clinic)")

    def handle(self, *args, file, user=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": file})
        acting_user = None
        if user:
            acting_user = get_user_model().objects.filter(username=user).first()
            if acting_user is None:
                raise CommandError(_("No such user: %(user)s") % {"user": user})
        try:
            batch = settlements_import(source="command", acting_user=acting_user, data=path.read_bytes(), filename=path.name)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages))
        self.stdout.write(
            _("Import #%(batch)s of %(file)s: %(rows)s rows, %(accepted)s accepted, %(duplicates)s duplicates, "
              "%(rejected)s rejected (%(seconds)s s).")
            % {"batch": batch.pk, "file": path.name, "rows": batch.total_rows, "accepted": batch.accepted,
               "duplicates": batch.duplicates, "rejected": batch.rejected, "seconds": batch.seconds}
        )
        for row in batch.rejected_rows.order_by("row_number")[:SHOWN_REJECTS]:
            self.stdout.write(_("  row %(row)s (%(setl_id)s): %(reason)s")
                              % {"row": row.row_number, "setl_id": row.setl_id or "-", "reason": row.reason})
        if batch.rejected > SHOWN_REJECTS:
            self.stdout.write(_("  …%(n)s more rejected rows are listed in the admin.") % {"n": batch.rejected - SHOWN_REJECTS})
