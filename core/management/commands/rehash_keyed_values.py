from django.core.management.base import BaseCommand

from core.hashing import rehash_all


class Command(BaseCommand):
    help = "Recompute every stored keyed hash (ID numbers, patient keys) with the configured HASH_KEY, after rotating it."

    def handle(self, *args, **options):
        counts = rehash_all()
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count}")
        self.stdout.write(self.style.SUCCESS(f"{sum(counts.values())} rows rehashed"))
