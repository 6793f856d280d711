"""Private files: written by the application, read back only through a view that checks who may
have them (a job's export: `core.jobs.job_file_for`). Never under MEDIA_ROOT or STATIC_ROOT, no
URL (Caddy serves nothing from disk; only gunicorn answers), files 0600 and folders 0700.

The folder is settings.PRIVATE_FILES_DIR (env PRIVATE_FILES_DIR, default CUNYI_VAR_DIR/private).
It is read from the settings on every use, so a test's override_settings takes effect."""

import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def _inside(path: Path, root) -> bool:
    if not root:
        return False
    root = Path(root).resolve()
    return path == root or root in path.parents or path in root.parents


def private_root() -> Path:
    """The private folder, refused when it lies inside (or around) a folder that is served."""
    root = Path(settings.PRIVATE_FILES_DIR).resolve()
    for served in (settings.MEDIA_ROOT, settings.STATIC_ROOT):
        if _inside(root, served):
            raise ImproperlyConfigured(
                f"PRIVATE_FILES_DIR ({root}) must not be inside or around MEDIA_ROOT or STATIC_ROOT ({served})"
            )
    return root


@deconstructible(path="core.storage.PrivateStorage")
class PrivateStorage(FileSystemStorage):
    def __init__(self):
        super().__init__(file_permissions_mode=FILE_MODE, directory_permissions_mode=DIRECTORY_MODE)

    # FileSystemStorage caches these from MEDIA_ROOT; here they follow PRIVATE_FILES_DIR.
    @property
    def base_location(self):
        return str(private_root())

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None

    def url(self, name):
        raise ValueError("private files have no URL: they are served by a view that checks the reader")

    def ensure_directory(self, relative: str = "") -> Path:
        """The folder (created 0700, and set to 0700 if it was there already)."""
        root = Path(self.location)
        directory = root / relative if relative else root
        old_umask = os.umask(0o077)
        try:
            directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        finally:
            os.umask(old_umask)
        for path in [root, *[p for p in directory.parents if root in p.parents], directory]:
            if path.is_dir() and (path == root or root in path.parents):
                os.chmod(path, DIRECTORY_MODE)
        return directory


def private_storage() -> PrivateStorage:
    """The callable a FileField names as its storage (so migrations hold no path)."""
    return PrivateStorage()
