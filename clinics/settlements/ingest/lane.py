"""The parent side of the fast lane for CSV files on PostgreSQL (`clinics.settlements.fastlane`
is the child): start the child on the upload, COPY the chunks it returns, hand the lines it did
not take to the SQL engine."""

import array
import csv
import datetime
import json
import logging
import pickle  # noqa: S403 - chunks from our own child process
import subprocess  # noqa: S404
import sys
import tempfile
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from clinics.models import Facility
from clinics.selectors import facility_ids_by_code
from clinics.settlements.ingest.common import IngestContext, RawCsv
from clinics.settlements.models import SettlementRecord
from clinics.settlements.partitions import ensure_partitions, partition_name
from clinics.settlements.rules import CODED_FIELDS, lane_guards, lane_relations, max_amount, relation_tolerance
from clinics.settlements.spec import AMOUNT_FIELDS, FIELDS, PLATFORM_FIELDS
from clinics.settlements.stats import add_totals as add_totals_to_month_stats

logger = logging.getLogger(__name__)

KEY_COPY = "COPY settlements_settlementkey (setl_id, settled_at, fingerprint, facility_id) FROM STDIN"
LOG_COLUMN_LIST = (
    "setl_id", "mdtrt_id", "psn_no", "psn_name", "certno_masked", "insutype", "clr_type", *AMOUNT_FIELDS,
    "settled_at", "facility_id", "atddr_no", "init_setl_id", "batch_id", "is_demo", *PLATFORM_FIELDS,
)  # recorded_at: the column's default on PostgreSQL, the transaction's time (migration 0009)
LOG_COLUMNS = ", ".join(LOG_COLUMN_LIST)
# CSV: an empty 2207 value is NULL (as the other engines store a value not given); the log's old
# text columns keep an empty value as "" (FORCE_NOT_NULL).
LOG_COPY_OPTIONS = (
    "FORMAT csv, FORCE_NOT_NULL (setl_id, mdtrt_id, psn_no, psn_name, certno_masked, insutype, clr_type, atddr_no, "
    "init_setl_id)"
)
HOSP_AT = LOG_COLUMN_LIST.index("hosp_part_amt")


class LaneFailedError(Exception):
    """The fast lane's child could not run or stopped half way."""


@dataclass
class FastLaneResult:
    accepted: int
    duplicates: int
    slow_rows: list  # (row number, {column: value}) for the SQL engine


def fast_lane_request(context: IngestContext, raw: RawCsv, first_chunk: int, chunk: int) -> dict:
    """What the lane's child needs besides the file and `spec`: the codes, the bound, the clinics it
    may take (enabled, and only the terminal's own for a terminal), the time, the batch."""
    clinics = Facility.objects.filter(settlement_enabled=True)
    if context.own_facility is not None:
        clinics = clinics.filter(pk=context.own_facility.pk)
    codes = context.codes()
    return {
        "header": raw.header,
        "encoding": raw.codec,
        "insutypes": sorted(codes["insutype"]),
        "guards": lane_guards(),
        "clr_types": sorted(codes["clr_type"]),
        # The other dictionary-checked fields (empty allowed: an optional code not given).
        "codes": {name: sorted(codes[name]) for name in CODED_FIELDS if name in PLATFORM_FIELDS},
        "relations": lane_relations(),
        "tolerance_cents": int(relation_tolerance() * 100),
        "max_amount": f"{max_amount():.2f}",
        # By register code and by platform institution code.
        "facilities": facility_ids_by_code(clinics),
        "now": context.now.timestamp(),
        "tail": f"{context.batch_id},{'t' if context.is_demo else 'f'}",
        "first_chunk": first_chunk,
        "chunk": chunk,
    }


class FastLane:
    """Parent side of `fastlane`: starts the child on the upload's bytes as soon as they arrive,
    then COPYs each chunk it returns into the key table and the log, each chunk under its own
    savepoint.

    A chunk's COPY fails when the file's rows were already recorded (a resend: the key table's
    primary key refuses them), when an amount rule is broken (the log's CHECKs), or when another
    upload holds the same keys. Then the chunk is rolled back to its savepoint and sorted out: the
    recorded keys are looked up (same fingerprint: a duplicate; different: to the SQL engine, which
    rejects it), the rows that break an amount rule go to the SQL engine, and the rest is loaded
    again; if that fails too, the whole chunk goes to the SQL engine (INSERT … ON CONFLICT)."""

    # Rows a chunk: the first is small, so that the database starts early; the next ones grow by
    # half while the database works on the one before (it takes longer a row than the child).
    # The tests make them small to cross chunk borders.
    first_chunk, chunk = 2_000, 20_000
    command = [sys.executable, "-S", "-m", "clinics.settlements.fastlane"]  # -S: the standard library is enough

    def __init__(self, data: bytes):
        """Start the child at once: it splits the lines and finds repeated setl_ids while the
        caller checks the header and opens the batch. The bytes go in an unnamed temporary file."""
        self.child: subprocess.Popen | None = None
        self.failure: Exception | None = None
        try:
            with tempfile.TemporaryFile() as upload:
                upload.write(data)
                upload.flush()
                self.child = subprocess.Popen(  # noqa: S603 - our own module, with the interpreter running us
                    [*self.command, str(upload.fileno())], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    cwd=str(settings.BASE_DIR), pass_fds=(upload.fileno(),),
                )
        except OSError as exc:
            self.failure = exc
        self.probe = False  # look the keys up before COPY (once a chunk met recorded keys)
        self.accepted = 0
        self.duplicates = 0
        self.slow: list[int] = []
        self.totals: dict[tuple, list[int]] = {}
        self.months: set[datetime.date] = set()

    def close(self) -> None:
        """Stop the child if it still runs (the file went another way, or something failed)."""
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.wait()

    def run(self, cursor, context: IngestContext, raw: RawCsv) -> FastLaneResult | None:
        """None when the file is not for the fast lane, or when the child failed (then whatever
        the lane had loaded is rolled back): the caller loads the file whole, as before."""
        self.raw = raw
        try:
            if self.failure is not None:
                raise LaneFailedError(self.failure)
            with transaction.atomic():
                return self._run(cursor, fast_lane_request(context, raw, self.first_chunk, self.chunk))
        except LaneFailedError as exc:
            logger.warning("settlement fast lane failed, the file is read the slow way: %s", exc)
            return None
        finally:
            self.close()

    def _run(self, cursor, request: dict) -> FastLaneResult | None:
        child = self.child
        try:
            child.stdin.write(json.dumps(request).encode() + b"\n")
            child.stdin.close()
            while True:
                message = pickle.load(child.stdout)  # noqa: S301 - from our own child process
                if message[0] == "ineligible":
                    return None
                if message[0] == "end":
                    self.slow.extend(message[1])
                    break
                self._load(cursor, message[1])
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            raise LaneFailedError(exc) from exc
        finally:
            child.stdout.close()
            if child.wait() != 0:
                raise LaneFailedError(f"the child exited with {child.returncode}")
        return FastLaneResult(self.accepted, self.duplicates, self._slow_rows())

    # -- chunks

    def _load(self, cursor, chunk: dict) -> None:
        months = {datetime.date(int(m[:4]), int(m[5:7]), 1) for (_f, m, _i, _c) in chunk["totals"]}
        if months - self.months:
            ensure_partitions(months - self.months)
            self.months |= months
        target = partition_name(next(iter(months))) if len(months) == 1 else SettlementRecord._meta.db_table
        keys, logs, totals = chunk["keys"], chunk["logs"], chunk["totals"]
        rows = array.array("q", chunk["rows"]).tolist()
        if self.probe:
            keys, logs, rows, totals = self._without_recorded(cursor, keys, logs, rows)
        error = self._copy(cursor, target, keys, logs)
        if error is not None:
            if error.sqlstate == "23505" and not self.probe:  # unique_violation: recorded keys
                self.probe = True
                keys, logs, rows, totals = self._without_recorded(cursor, keys, logs, rows)
            elif error.sqlstate == "23514":  # check_violation: an amount rule
                keys, logs, rows, totals = self._without_rule_breakers(keys, logs, rows)
            else:
                keys = b""
            if not keys or self._copy(cursor, target, keys, logs) is not None:
                self.slow.extend(rows)
                return
        self.accepted += len(rows)
        for key, line in totals.items():
            total = self.totals.setdefault(key, [0] * 7)
            for i, value in enumerate(line):
                total[i] += value

    @staticmethod
    def _copy(cursor, target: str, keys: bytes, logs: bytes):
        """COPY a chunk under a savepoint; the database error, or None."""
        import psycopg

        try:
            with transaction.atomic():
                with cursor.cursor.copy(KEY_COPY) as copy:
                    copy.write(keys)
                with cursor.cursor.copy(f"COPY {target} ({LOG_COLUMNS}) FROM STDIN WITH ({LOG_COPY_OPTIONS})") as copy:
                    copy.write(logs)
        except psycopg.Error as exc:
            return exc
        return None

    def _keep(self, keys: bytes, logs: bytes, rows: list[int], keep) -> tuple[bytes, bytes, list[int], dict]:
        """The chunk without the rows `keep(key line, log line, row number)` refuses."""
        kept = ([], [], [])
        for key, log, number in zip(keys.splitlines(True), logs.splitlines(True), rows, strict=True):
            if keep(key, log, number):
                for bucket, value in zip(kept, (key, log, number), strict=True):
                    bucket.append(value)
        return b"".join(kept[0]), b"".join(kept[1]), kept[2], self._totals_of(kept[1])

    def _without_recorded(self, cursor, keys: bytes, logs: bytes, rows: list[int]):
        fingerprints = dict(line.split(b"\t")[0:3:2] for line in keys.splitlines())
        cursor.execute(
            "SELECT setl_id, fingerprint FROM settlements_settlementkey WHERE setl_id = ANY(%s)",
            [[setl_id.decode() for setl_id in fingerprints]],
        )
        recorded = {setl_id.encode(): fp.encode() for setl_id, fp in cursor.fetchall()}

        def keep(key, _log, number):
            setl_id = key[: key.index(b"\t")]
            known = recorded.get(setl_id)
            if known is None:
                return True
            if known == fingerprints[setl_id]:
                self.duplicates += 1
            else:
                self.slow.append(number)  # the SQL engine rejects it: recorded with other content
            return False

        return self._keep(keys, logs, rows, keep)

    def _without_rule_breakers(self, keys: bytes, logs: bytes, rows: list[int]):
        def keep(_key, log, number):
            values = log.split(b",")
            medfee, fund, hifp, maf, acct, cash = (int(v.replace(b".", b"")) for v in values[7:13])
            hosp = int(values[HOSP_AT].replace(b".", b"") or b"0")
            if fund < hifp + maf or medfee != fund + acct + cash + hosp:
                self.slow.append(number)
                return False
            return True

        return self._keep(keys, logs, rows, keep)

    @staticmethod
    def _totals_of(logs: list[bytes]) -> dict:
        totals: dict[tuple, list[int]] = {}
        for log in logs:
            v = log.decode().split(",")
            line = totals.setdefault((int(v[14]), v[13][:7], v[5], v[6]), [0] * 7)
            line[0] += 1
            for i, text in enumerate(v[7:13], start=1):
                line[i] += int(text.replace(".", ""))
        return totals

    def add_totals(self) -> None:
        """Add the rows the lane loaded to the monthly rollup (the caller does it last)."""
        lines = {
            (facility_id, datetime.date(int(month[:4]), int(month[5:7]), 1), insutype, clr_type): [
                visits,
                0,
                *(Decimal(c).scaleb(-2) for c in cents),
            ]
            for (facility_id, month, insutype, clr_type), (visits, *cents) in self.totals.items()
        }
        add_totals_to_month_stats(lines)

    # -- the rows for the SQL engine

    def _slow_rows(self) -> list[tuple[int, dict]]:
        """The rows the lane did not take, as the SQL engine reads them (values as in the file;
        it trims them itself)."""
        if not self.slow:
            return []
        lines = self.raw.body.decode(self.raw.codec).split("\n")
        header = self.raw.header
        rows = []
        for number in sorted(self.slow):
            values = next(csv.reader([lines[number - 2].rstrip("\r")]), [])
            row = {}
            for column, value in zip(header, values, strict=False):
                if column in FIELDS and column not in row:
                    row[column] = value
            rows.append((number, row))
        return rows
