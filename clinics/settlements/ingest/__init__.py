"""Settlement ingest engines, one module each; all give the same outcome for the same rows:

- `python_engine.PythonEngine` (SQLite, the embedded `make run`): checks rows in Python, then
  bulk inserts;
- `sql_engine.PostgresEngine`: COPY into a temporary staging table (the raw CSV bytes when the
  upload is a UTF-8/GB18030 CSV, row by row otherwise), every rule in one SQL pass, then
  `INSERT … ON CONFLICT DO NOTHING` into the key table and the partitioned log;
- `lane.FastLane` (PostgreSQL, CSV files): the parent side of the `fastlane` child, which takes the
  lines that are certainly new, valid, ordinary settlements; the others go to the SQL engine.

Both engines are driven by the rules table (`clinics.settlements.rules`) and the upload's shape
(`clinics.settlements.spec`). A row is accepted (new `setl_id`), a duplicate (the same `setl_id`
with the same content, already recorded or earlier in the upload) or rejected (kept with its row
number and reason). Reversals are checked after the ordinary rows of the same upload are in, so an
upload may carry a settlement and its reversal.
"""

from clinics.settlements.ingest.common import IngestContext, IngestOutcome, RawCsv, clean_values, rejected_raw
from clinics.settlements.ingest.lane import FastLane, FastLaneResult, LaneFailedError, fast_lane_request
from clinics.settlements.ingest.python_engine import PythonEngine
from clinics.settlements.ingest.sql_engine import PostgresEngine

__all__ = [
    "FastLane",
    "FastLaneResult",
    "IngestContext",
    "IngestOutcome",
    "LaneFailedError",
    "PostgresEngine",
    "PythonEngine",
    "RawCsv",
    "clean_values",
    "fast_lane_request",
    "rejected_raw",
]
