from django.core.management.base import BaseCommand

from operations.backups import backup_database


class Command(BaseCommand):
    help = "Back up the database (pg_dump custom format, owner-only) into BACKUP_DIR and prune old copies."

    def add_arguments(self, parser):
        parser.add_argument("--directory", help="Write here instead of BACKUP_DIR.")
        parser.add_argument("--no-prune", action="store_true", help="Keep every older backup.")

    def handle(self, *args, directory=None, no_prune=False, **options):
        path = backup_database(directory=directory, prune=not no_prune)
        self.stdout.write(str(path))
