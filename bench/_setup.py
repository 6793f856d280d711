"""Start of the county/province benches: a fresh scratch SQLite file for the county run (unless
DATABASE_URL says otherwise), then Django."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_django(*, scale: str, scratch_name: str) -> None:
    if scale == "county" and not os.environ.get("DATABASE_URL"):
        scratch = ROOT / "var" / scratch_name
        scratch.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "false")  # production's setting: benches never run with DEBUG on
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
