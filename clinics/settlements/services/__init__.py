"""Writes of the settlement app, one module per sub-domain:

- `imports`: `settlements_import`, every ingest path (API, admin upload, command, seed);
- `reconciliation`: `statement_import` (the bureau's statement) and `reconciliation_run`;
- `anomalies`: `anomalies_detect` (a clinic's activity falling off).

Reads are in `clinics.settlements.selectors`. The names callers use are importable from here.
"""

from clinics.settlements.services.anomalies import anomalies_detect
from clinics.settlements.services.imports import (
    IMPORT_LOCK,
    MAX_API_ROWS,
    can_upload,
    raw_csv,
    settlements_import,
    unix_line_ends,
    uploader_clinic,
)
from clinics.settlements.services.reconciliation import reconciliation_run, statement_import

__all__ = [
    "IMPORT_LOCK",
    "MAX_API_ROWS",
    "anomalies_detect",
    "can_upload",
    "raw_csv",
    "reconciliation_run",
    "settlements_import",
    "statement_import",
    "unix_line_ends",
    "uploader_clinic",
]
