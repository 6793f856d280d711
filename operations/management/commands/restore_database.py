from django.core.management.base import BaseCommand, CommandError

from core.errors import Refused
from operations.backups import BackupError, restore_database


class Command(BaseCommand):
    help = "Restore a backup into a scratch PostgreSQL database (never into the live one)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="A backup written by backup_database (.dump).")
        parser.add_argument("--into", required=True, help="The scratch database to create and restore into.")
        parser.add_argument("--replace", action="store_true", help="Drop that scratch database first if it exists.")

    def handle(self, *args, file, into, replace=False, **options):
        try:
            restore_database(file, into=into, replace=replace)
        except (Refused, BackupError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored {file} into {into}")
