"""Writes of the settlement app, one module per sub-domain:

- `imports`: `settlements_import`, every ingest path (API, admin upload, command, seed);
- `reconciliation`: 3201 and 3202 with the platform (`reconciliation_compute`, `answer_record`,
  `answers_import`, `result_import`, the 3202 file `detail_rows`/`detail_file`);
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
from clinics.settlements.services.reconciliation import (
    answer_record,
    answers_import,
    reconciliation_compute,
    result_import,
)

__all__ = [
    "IMPORT_LOCK",
    "MAX_API_ROWS",
    "anomalies_detect",
    "answer_record",
    "answers_import",
    "can_upload",
    "raw_csv",
    "reconciliation_compute",
    "result_import",
    "settlements_import",
    "unix_line_ends",
    "uploader_clinic",
]
