"""Settlement imports: every ingest path (API, admin upload, command, seed) goes through
`settlements_import`, which picks the engine (`clinics.settlements.ingest`)."""

import csv
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinics.models import Role
from clinics.scoping import user_role
from clinics.settlements.ingest import (
    FastLane,
    IngestContext,
    IngestOutcome,
    PostgresEngine,
    PythonEngine,
    RawCsv,
)
from clinics.settlements.models import SettlementImport
from clinics.settlements.rules import messages as rule_messages
from clinics.settlements.selectors import records_by_setl_id
from clinics.settlements.spec import REQUIRED, REVERSAL_INHERITED, column_name
from core.audit import audit_record
from core.retry import with_retry
from core.tabular import TableError, check_header, enforce_upload_limits, read_table
from core.validators import normalize_code

MAX_API_ROWS = 5000
DEADLOCK_RETRIES = 3  # a safety net: uploads queue on IMPORT_LOCK
IMPORT_LOCK = 0x5E771E  # advisory lock key of "an upload is writing the settlement log"
UPLOADER_ROLES = {Role.COUNTY_ADMIN, Role.INSURANCE_CLERK, Role.API_CLIENT}

Rows = Iterable[tuple[int, dict]]


def can_upload(user) -> bool:
    return user_role(user) in UPLOADER_ROLES


def uploader_clinic(user):
    """The clinic an insurance terminal is bound to (None for county-wide uploaders)."""
    if user_role(user) == Role.API_CLIENT:
        return user.scope.facility
    return None


def table_rows(data: bytes, filename: str) -> Iterator[tuple[int, dict]]:
    """Rows of a CSV or XLSX upload with the row number a person sees (header = row 1). A column
    may be headed by its platform name or its Chinese name (`spec.HEADER_ALIASES`: 医疗费总额 for
    medfee_sumamt), as a clinic's HIS exports it."""
    header, rows = read_table(data, filename, ())
    names = [column_name(name) for name in header]
    check_header(names, REQUIRED)
    mapping = dict(zip(header, names, strict=True))
    return ((row.number, {mapping.get(k, k): v for k, v in row.values.items()}) for row in rows)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_text(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def reversals_completed(rows: list[tuple[int, dict]], own=None) -> list[tuple[int, dict]]:
    """The rows with a 2208 reversal as the platform answers it (`spec.REVERSAL_SETLINFO`: no
    person, insurance type, clearing category or clinic) completed from the original it names by
    `init_setl_id`: each field of `spec.REVERSAL_INHERITED` the row leaves out or empty is the
    original's (from the log, else from an earlier row of the same upload). A value the row gives
    is kept, so a full row is judged exactly as before. A terminal (`own`, its clinic) is completed
    only from its own clinic's settlements: for another clinic's the row stays incomplete and is
    refused for its missing fields, which says nothing about whose the original is. A row whose
    original is not found stays as it is (refused for what it lacks)."""
    lacking = [values for _n, values in rows if not _blank(values.get("init_setl_id"))
               and any(_blank(values.get(f)) for f in REVERSAL_INHERITED)]
    if not lacking:
        return rows
    wanted = sorted({normalize_code(str(values["init_setl_id"])) for values in lacking})
    originals: dict[str, dict] = {}
    fields = [f for f in REVERSAL_INHERITED if f not in ("certno", "fixmedins_code")]
    for start in range(0, len(wanted), 1000):
        records = records_by_setl_id(wanted[start : start + 1000])
        if own is not None:
            records = records.filter(facility_id=own.pk)
        for record in records.values("setl_id", "certno_masked", "facility__code", *fields):
            record["certno"], record["fixmedins_code"] = record.pop("certno_masked"), record.pop("facility__code")
            originals[record.pop("setl_id")] = record
    for _n, values in rows:
        key = normalize_code(str(values.get("setl_id") or ""))
        if key and key not in originals and not values.get("init_setl_id"):
            originals[key] = values  # an original sent earlier in the same upload
    for values in lacking:
        original = originals.get(normalize_code(str(values["init_setl_id"])))
        if original is None:
            continue
        for name in REVERSAL_INHERITED:
            if _blank(values.get(name)) and not _blank(original.get(name)):
                values[name] = _as_text(original[name])
    return rows


def unix_line_ends(data: bytes) -> bytes:
    """A CSV whose lines end in a bare carriage return (Excel's "CSV (Macintosh)"), or that mixes one
    in, read as lines ending in LF, as a spreadsheet shows them: every reader (the fast lane, COPY,
    Python's csv) then sees the same rows. CR LF stays (two counts, no copy, for the usual file)."""
    if b"\r" not in data or data.count(b"\r") == data.count(b"\r\n"):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def raw_csv(data: bytes, required=REQUIRED) -> RawCsv:
    """Split a CSV upload into its header and the bytes COPY reads; raise TableError when the
    header lacks a required column."""
    encodings = {"utf-8": "UTF8", "gb18030": "GB18030"}
    for encoding in encodings:
        try:
            data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise TableError(_("The CSV file must be saved as UTF-8 or GB18030 text."))
    pg_name = encodings[encoding]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    end = data.find(b"\n")
    head, body = (data, b"") if end < 0 else (data[:end], data[end + 1 :])
    header = [column_name(h.strip()) for h in next(csv.reader([head.decode(encoding).rstrip("\r")]), [])]
    check_header(header, required)
    return RawCsv(header=header, body=body, encoding=pg_name)


def _run_engine(
    context: IngestContext, messages: dict[str, str], rows: Callable[[], Rows], raw: RawCsv | None, lane: FastLane | None
):
    if connection.vendor != "postgresql":
        return PythonEngine(context, messages).run(rows())
    engine = PostgresEngine(context, messages)
    with connection.cursor() as cursor:
        if raw is not None and lane is not None:
            fast = lane.run(cursor, context, raw)
            if fast is not None:
                # The lines the fast lane did not take (usually none) go through every rule in SQL.
                outcome = IngestOutcome()
                if fast.slow_rows:
                    engine.load_rows(cursor, fast.slow_rows)
                    outcome = engine.run(cursor)
                # The lane's rollup lines last: a concurrent upload waiting for them holds no key
                # this one still needs.
                lane.add_totals()
                outcome.total += fast.accepted + fast.duplicates
                outcome.accepted += fast.accepted
                outcome.duplicates += fast.duplicates
                return outcome
        loaded = False
        if raw is not None:
            try:
                with transaction.atomic():
                    engine.load_raw(cursor, raw)
                loaded = True
            except DataError:
                # Not plain CSV for COPY (a blank line, a row with too many columns…): read it
                # row by row instead, which keeps row numbers and gives each bad row its reason.
                loaded = False
        if not loaded:
            engine.load_rows(cursor, rows())
        return engine.run(cursor)


@transaction.atomic
def settlements_import(
    *,
    source: str,
    acting_user=None,
    rows: Rows | None = None,
    data: bytes | None = None,
    filename: str = "",
    is_demo: bool = False,
) -> SettlementImport:
    """Ingest settlements from `rows` ((row number, {column: value}) pairs) or from the bytes of
    a CSV/XLSX file. Returns the import batch with its counts; rejected rows are kept on it.

    Raises PermissionDenied for a user who may not upload, ValidationError for a file that cannot
    be read at all (nothing is written then)."""
    if acting_user is not None and not can_upload(acting_user):
        raise PermissionDenied(_("Only the insurance clerk, the county admin or an insurance terminal may upload settlements."))
    if (rows is None) == (data is None):
        raise ValueError("Give either rows or data.")
    raw = None
    lane = None
    if data is not None:
        name = filename.lower()
        try:
            # Size and rows (and an XLSX's unpacked size, parts and cells) before anything reads the
            # file: a CSV over UPLOAD_MAX_ROWS is refused whole, the fast lane's path included.
            enforce_upload_limits(data, filename)
        except TableError as exc:
            raise ValidationError(str(exc), code="upload_limit") from exc
        if name.endswith((".csv", ".txt")):
            # A NUL byte is never text in UTF-8 or GB18030, and PostgreSQL refuses it (the whole
            # upload failed with a DataError): drop it, so each row is judged on the rest.
            data = unix_line_ends(data.replace(b"\x00", b""))
        try:
            if connection.vendor == "postgresql" and name.endswith((".csv", ".txt")):
                # The fast lane's child starts reading the file now, while the encoding and the
                # header are checked (a full decode: 50 ms for 28 MB) and the batch row is written.
                lane = FastLane(data)
                try:
                    raw = raw_csv(data)
                except BaseException:
                    lane.close()
                    raise
                rows_factory = lambda: table_rows(data, filename)  # noqa: E731
            else:
                materialised = list(table_rows(data, filename))
                rows_factory = lambda: iter(materialised)  # noqa: E731
        except TableError as exc:
            raise ValidationError(str(exc), code="unreadable_file") from exc
    else:
        # Read again if the import is retried. A 2208 answer takes what it lacks from its original.
        own = uploader_clinic(acting_user) if acting_user is not None else None
        rows = reversals_completed(list(rows), own)
        rows_factory = lambda: iter(rows)  # noqa: E731

    tries: list[FastLane | None] = []

    def attempt() -> SettlementImport:
        # Two uploads of overlapping files lock the same keys in different orders; PostgreSQL ends
        # one of them (40P01). Its savepoint is rolled back (its locks go, the other goes on) and
        # `with_retry` starts it again: what the other recorded meanwhile is now a duplicate.
        current = FastLane(data) if tries and raw is not None else lane  # a child reads a file once
        tries.append(current)
        try:
            with transaction.atomic():
                return _record_batch(source, acting_user, filename, is_demo, rows_factory, raw, current)
        except TableError as exc:
            # The rows are read lazily on PostgreSQL: a row that cannot be read surfaces here, and
            # the whole upload is refused (rolled back) with its row number, not a 500.
            raise ValidationError(str(exc), code="unreadable_file") from exc
        finally:
            if current is not None:
                current.close()

    return with_retry(attempt, attempts=DEADLOCK_RETRIES + 1)


def _record_batch(source, acting_user, filename, is_demo, rows_factory, raw, lane) -> SettlementImport:
    started = time.monotonic()
    if connection.vendor == "postgresql":
        # Uploads write to the log one at a time, in arrival order (until the holder commits): one
        # import already keeps both cores busy, and two overlapping files loaded at once would
        # lock each other's keys in different orders (deadlocks, tested). A waiting upload's fast
        # lane child prepares its file meanwhile.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
    own = uploader_clinic(acting_user) if acting_user is not None else None
    batch = SettlementImport.objects.create(
        source=source, filename=filename[:200], uploaded_by=acting_user if acting_user and acting_user.is_authenticated else None,
        facility=own,
    )
    with translation.override(settings.LANGUAGE_CODE):
        messages = rule_messages()
    context = IngestContext(batch_id=batch.pk, own_facility=own, is_demo=is_demo, now=timezone.now())
    with translation.override(settings.LANGUAGE_CODE):  # the reasons name fields in the site's language
        outcome = _run_engine(context, messages, rows_factory, raw, lane)
    batch.total_rows = outcome.total
    batch.accepted = outcome.accepted
    batch.duplicates = outcome.duplicates
    batch.rejected = outcome.rejected
    batch.warned = outcome.warned
    batch.seconds = Decimal(f"{time.monotonic() - started:.3f}")
    batch.save(update_fields=["total_rows", "accepted", "duplicates", "rejected", "warned", "seconds"])
    audit_record(
        actor=acting_user,
        action="settlement.import",
        target=batch,
        changes={"accepted": outcome.accepted, "duplicates": outcome.duplicates, "rejected": outcome.rejected,
                 "warned": outcome.warned, "rows": outcome.total, "file": filename},
    )
    return batch
