"""The fast lane of a CSV settlement upload on PostgreSQL.

A child process (standard library only, no Django) reads the upload and takes every line that is
*certainly* a new, valid, ordinary settlement written in its canonical form; it returns those in
chunks ready for COPY into the key table and the log, with each chunk's rollup totals. Every other
line — quotes, spaces around a field, an amount not written like 35.50, a date not written like
2026-11-03 09:30:00, a reversal, a setl_id that appears twice in the file, a clinic that is
unknown, disabled or out of the uploader's reach, a time in the future — goes back by row number
to the SQL engine, which gives the reason. The lane never rejects a row: its one duty is never to
accept a row the rules refuse (tests hold it against the Python engine row by row). The two amount
rules are left to the log's CHECK constraints, exact on PostgreSQL; the parent finds the rows of a
chunk that break them.

The parent's server process inserts chunk n while this process reads chunk n + 1: on two cores
the Python work and PostgreSQL's run side by side instead of one after the other.

    python -S -m clinics.settlements.fastlane FD < request

FD is an open file holding the upload as it came (header line included); the request is one JSON
line on stdin (`ingest.fast_lane_request`). The answer on stdout is a sequence of pickled tuples:
("ineligible", why) and nothing else, or any number of ("chunk", {...}) then ("end", the row
numbers of the lines it did not take).
"""

import array
import binascii
import calendar
import collections
import csv
import gc
import hashlib
import itertools
import json
import operator
import os
import pickle
import re
import sys
import typing
import unicodedata

from clinics.settlements.spec import (
    AGE_FIELDS,
    AMOUNT_FIELDS,
    BALANCE_FIELDS,
    BLANKS,
    CODE_FIELDS,
    DATE_FIELDS,
    FIELDS,
    FINGERPRINT,
    FINGERPRINT_SEPARATOR,
    LANE_AMOUNT,
    LANE_TIME,
    MAX_LENGTH,
    ODD_BLANKS,
    OPTIONAL,
    PLATFORM_AMOUNTS,
    PLATFORM_FIELDS,
    RATIO_FIELDS,
    UTC_OFFSET_SECONDS,
    column_name,
)
from core.masking import mask_id_number

# Searching a 30 MB body for a 3-byte sequence takes ~40 ms, for one byte ~1 ms: each sequence is
# looked for only if the file holds its first byte.
_BY_FIRST_BYTE = {
    first: tuple(b for b in ODD_BLANKS if b[:1] == first) for first in dict.fromkeys(b[:1] for b in ODD_BLANKS)
}
MAX_CHUNKS = 48  # after the first, growing ones (2,000 to 20,000 rows: 6 of them)

# The lane reads UTF-8 bytes (a GB18030 file is converted first). In UTF-8 no byte of a multibyte
# character is an ASCII byte, so delimiters, quotes and line breaks are found in the bytes; a
# length limit counted in bytes is never looser than the same limit in characters.
# Field bytes: no delimiter, quote, tab, backslash or line break (so that a value goes into COPY's
# text and CSV formats as it is); a value's first and last bytes are no white space (the SQL
# engine trims, so a padded value goes there). The run of a field's bytes is possessive and its
# edges are checked by looking around: no backtracking, half the time of an edge-inner-edge form.
_FIELD = rb'(?!\s)[^,"\t\\\r\n]{1,%d}+(?<!\s)'
# A code's bytes: the same, in ASCII only (printable, or a space inside). A code typed with an
# input method's full-width digits is written in ASCII by the other engines (NFKC): such a line
# goes to the SQL engine.
_CODE = rb'(?!\s)[ !#-+\--\[\]-~]{1,%d}+(?<!\s)'
AMOUNT = LANE_AMOUNT  # the canonical text of numeric(12,2), 1 to 10 digits
SETL_TIME = LANE_TIME  # 2026-11-03 09:30:00: groups the day and the time

# The line pattern below and the fingerprint in `take` are written for the documented column
# order: the seven values that start the fingerprint, the six amounts, then setl_time, the clinic,
# atddr_no and an empty init_setl_id. A change of `spec` that breaks that fails here, at import.
LANE_FINGERPRINT = (*("certno_masked" if f == "certno" else f for f in FIELDS[:7]), "facility_id", "settled_epoch",
                    *FIELDS[7:13], "atddr_no", "init_setl_id")
if (FIELDS[7:13] != AMOUNT_FIELDS or FIELDS[13:17] != ("setl_time", "fixmedins_code", "atddr_no", "init_setl_id")
        or FIELDS[17:] != PLATFORM_FIELDS or FINGERPRINT != LANE_FINGERPRINT or FINGERPRINT_SEPARATOR != "|"):
    raise ImportError("clinics.settlements.spec no longer matches the fast lane's line layout")


def _text(limit: int, optional: bool = False, capture: bool = False, code: bool = True) -> bytes:
    value = (_CODE if code else _FIELD) % limit
    if optional:
        value = b"(?:" + value + b")?"
    return b"(" + value + b")" if capture else b"(?:" + value + b")"


# The fields the line pattern reads as text (`_text`): a rule's lane guard may stand before them.
TEXT_FIELDS = frozenset({"setl_id", "mdtrt_id", "psn_no", "psn_name", "fixmedins_code", "atddr_no"})


# A 2207 code the rules do not check against a dictionary (gend, naty, …): ASCII, no space (so
# that the only space in the platform fields is a date of birth's " 00:00:00").
_TIGHT_CODE = rb'[!#-+\--\[\]-~]{1,%d}+'
_RATIO = rb"[0-9]\.[0-9]{4}"  # numeric(5,4) as PostgreSQL prints it
_AGE = rb"(?:0|[1-9][0-9]{0,2})\.[0-9]"  # numeric(4,1)
_DATE = rb"(?:19[0-9]{2}|2[0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
MIDNIGHT = b" 00:00:00"
BRDY_AT = PLATFORM_FIELDS.index(DATE_FIELDS[0])


def _bounded_amount(max_amount: str) -> bytes:
    """A canonical amount certainly below the bound: fewer integer digits than it has."""
    digits = max_amount.index(".") - 1  # the integer digits a value may have
    if digits < 1:
        return rb"0\.[0-9]{2}"
    return rb"(?:0|[1-9][0-9]{0,%d}+)\.[0-9]{2}" % (digits - 1)


def platform_pattern(request: dict) -> bytes:
    """The 2207 fields after init_setl_id, each empty or in the form the log prints: one group
    (the whole run of them) holding another (the date of birth)."""
    codes = request.get("codes", {})
    bounded = _bounded_amount(request["max_amount"])
    parts = []
    for name in PLATFORM_FIELDS:
        if name in codes:
            value = b"(?:" + b"|".join(re.escape(v.encode()) for v in sorted(codes[name], key=len, reverse=True)) + b")" \
                if codes[name] else b"(?!)"
        elif name in BALANCE_FIELDS:
            value = LANE_AMOUNT
        elif name in PLATFORM_AMOUNTS:
            value = bounded
        elif name in RATIO_FIELDS:
            value = _RATIO
        elif name in AGE_FIELDS:
            value = _AGE
        elif name in DATE_FIELDS:
            parts.append(b"(" + _DATE + b"(?:" + MIDNIGHT + b")?)?")
            continue
        else:
            value = _TIGHT_CODE % MAX_LENGTH[name]
        parts.append(b"(?:" + value + b")?")
    return b"(" + b",".join(parts) + b")"


def line_pattern(request: dict) -> re.Pattern:
    """One regular expression for a whole canonical line, in the documented column order (a line
    of a file in another order is rewritten in it first, `documented_order`), from `spec`: the
    lengths, which values are codes (ASCII only) and which may be empty, the dictionaries' codes.
    Groups: 1 setl_id, 2 certno (ASCII letters and digits: it is masked by position), 3 insutype,
    4 clr_type, 5 the six amounts, 6 the day and 7 the time of setl_time, 8 fixmedins_code,
    9 atddr_no; init_setl_id empty (a reversal goes to the SQL engine); 10 the 2207 fields,
    11 the date of birth."""
    n = MAX_LENGTH

    guards = {name: lookahead.encode() for name, lookahead in request.get("guards", {}).items()}
    if set(guards) - TEXT_FIELDS:
        raise ValueError(f"a lane guard on a field the lane reads by a pattern of its own: {set(guards) - TEXT_FIELDS}")

    def text(name: str, capture: bool = False) -> bytes:
        # A rule's lane guard (rules.Rule.lane_guard) goes before the field: a line whose value
        # fails it is not matched, so it goes to the SQL engine.
        return guards.get(name, b"") + _text(n[name], optional=name in OPTIONAL, capture=capture,
                                             code=name in CODE_FIELDS)

    def codes(values):
        return b"(" + b"|".join(re.escape(v.encode()) for v in sorted(values, key=len, reverse=True)) + b")"

    return re.compile(
        b",".join(
            [
                text("setl_id", capture=True),
                text("mdtrt_id"),
                text("psn_no"),
                text("psn_name"),
                b"([0-9A-Za-z]{0,%d})" % n["certno"],
                codes(request["insutypes"]),
                codes(request["clr_types"]),
                b"(" + b",".join([AMOUNT] * 6) + b")",
                SETL_TIME,
                text("fixmedins_code", capture=True),
                text("atddr_no", capture=True),
                b"",  # init_setl_id
                platform_pattern(request) + b"\r?",
            ]
        )
    )


def relation_checker(request: dict):
    """A function of (the six amounts, the 2207 values) → True when the row breaks an amount
    relation (rules.RELATIONS, confirmed or not: the SQL engine then warns or rejects), in cents."""
    tolerance = request.get("tolerance_cents", 0)
    at = {name: (0, i) for i, name in enumerate(AMOUNT_FIELDS)} | {name: (1, i) for i, name in enumerate(PLATFORM_FIELDS)}
    relations = [(at[total], [at[p] for p in parts], [at[g] for g in (total, *given)], op)
                 for total, parts, given, op in request.get("relations", [])]

    def breaks(old: list[bytes], new: list[bytes]) -> bool:
        sources = (old, new)

        def cents(place):
            value = sources[place[0]][place[1]]
            return int(value.replace(b".", b"")) if value else 0

        for total, parts, given, op in relations:
            if not all(sources[g[0]][g[1]] for g in given):
                continue
            difference = cents(total) - sum(map(cents, parts))
            if (difference > tolerance) if op == "<=" else (abs(difference) > tolerance):
                return True
        return False

    return breaks


def _split_lines(body: bytes) -> list[bytes]:
    lines = body.split(b"\n")
    if lines and lines[-1] in (b"", b"\r"):
        lines.pop()
    return lines


def _body_problem(body: bytes) -> str:
    # A quoted field may hold a line break only where a line has an odd number of quotes (and a
    # bare carriage return, checked on the lines, is a line break to COPY and to Python's csv
    # module alike): either would make line numbers differ from row numbers.
    if b'"' in body and any(line.count(b'"') % 2 for line in body.split(b"\n") if b'"' in line):
        return "a quoted field spans lines"
    return ""


class Prepared(typing.NamedTuple):
    """What needs the whole file before the first chunk."""

    lines: list[bytes]
    repeated: set[bytes]  # setl_ids on more than one line: all their rows go to the SQL engine,
    # which tells a repeat from a conflicting row and names the first row
    odd: tuple[bytes, ...]  # the ODD_BLANKS the file holds
    id_column: int  # where the setl_ids were read
    why: str  # why the lines cannot be taken as rows, if they cannot


def header_names(head: bytes) -> list[str]:
    """The column names of a header line, as the parent reads them (csv, trimmed)."""
    return [column_name(name.strip()) for name in next(csv.reader([head.decode("utf-8", "replace").rstrip("\r")]), [])]


def prepare(body: bytes, id_column: int = 0) -> Prepared:
    why = _body_problem(body)
    if why:
        return Prepared([], set(), (), id_column, why)
    lines = _split_lines(body)
    returns = body.count(b"\r")
    if returns and returns != sum(map(bytes.endswith, lines, itertools.repeat(b"\r"))):
        return Prepared([], set(), (), id_column, "a bare carriage return")
    odd = tuple(b for first, group in _BY_FIRST_BYTE.items() if first in body for b in group if b in body)
    if b'"' in body or odd:
        ids = [_setl_id_of(line, id_column) for line in lines]
    elif id_column:
        values = (line.split(b",", id_column + 1) for line in lines)
        ids = [(v[id_column] if len(v) > id_column else b"").strip() for v in values]
    else:
        ids = list(map(bytes.strip, [line[: line.find(b",")] for line in lines]))
    if not b"".join(ids).isascii():
        # A setl_id typed with full-width digits is the same settlement as its ASCII spelling to the
        # other engines (NFKC): count it under that spelling, so that both lines go to them.
        ids = [i if i.isascii() else _nfkc(i) for i in ids]
    repeated = {i for i, n in collections.Counter(ids).items() if n > 1} if len(set(ids)) != len(ids) else set()
    return Prepared(lines, repeated, odd, id_column, "")


def _nfkc(value: bytes) -> bytes:
    """A code as the other engines read it (`core.validators.normalize_code`: NFKC, then trimmed)."""
    return unicodedata.normalize("NFKC", value.decode("utf-8", "replace")).strip().encode()


def _setl_id_of(line: bytes, column: int = 0) -> bytes:
    """The setl_id as the engines read it: unquoted, then trimmed of every BLANKS character."""
    if b'"' in line:
        values = next(csv.reader([line.decode()]), [])
        return values[column].strip(BLANKS).encode() if len(values) > column else b""
    values = line.split(b",", column + 1)
    return values[column].decode().strip(BLANKS).encode() if len(values) > column else b""


def documented_order(header: list[str], fields: list[str]):
    """For a file whose columns are not in the documented order: a function that rewrites a line's
    values in the documented order (an absent optional column gives an empty value; a column the
    rules do not know is left out, as the SQL engine leaves it; a header naming a column twice was
    refused before the lane started), or None when the line holds a quote or another number of
    values than the header has names. None for a file already in the documented order."""
    if header == fields:
        return None
    width = len(header)
    # An absent column reads the empty value appended after the line's own values.
    absent = any(f not in header for f in fields)
    pick = operator.itemgetter(*[header.index(f) if f in header else width for f in fields])

    def rewrite(line: bytes) -> bytes | None:
        if b'"' in line:
            return None  # a quoted value may hold a comma: the values cannot be found by splitting
        values = line.split(b",")
        if len(values) != width:
            return None
        if values[-1].endswith(b"\r"):
            values[-1] = values[-1][:-1]
        if absent:
            values.append(b"")
        return b",".join(pick(values))

    return rewrite


def _padded(line: bytes, odd: tuple[bytes, ...]) -> bool:
    """Whether a field of a line the pattern matched (so no field holds a comma or a quote) starts
    or ends with one of the ODD_BLANKS."""
    return any(b in line for b in odd) and any(
        value.startswith(odd) or value.endswith(odd) for value in line.rstrip(b"\r").split(b",")
    )


def classify(request: dict, body: bytes, emit) -> None:
    header = request["header"]
    take(request, prepare(body, header.index("setl_id") if "setl_id" in header else 0), emit)


def take(request: dict, prepared: Prepared, emit) -> None:
    lines, repeated, odd, id_column, why = prepared
    header = request["header"]
    if "setl_id" not in header or header.index("setl_id") != id_column:
        why = why or "the setl_ids were read in another column"  # the header read two ways
    if why:
        emit(("ineligible", why))
        return
    rewrite = documented_order(header, list(FIELDS))
    match = line_pattern(request).fullmatch
    facilities = {code.encode(): (pk, str(pk).encode()) for code, pk in request["facilities"].items()}
    now = request["now"]
    # The upper bound of an amount, canonical text (100000.00): only medfee_sumamt is compared, for
    # in a row that keeps both amount rules (the log's CHECKs) no other amount exceeds it. Two
    # canonical amounts with as many digits before the point compare as their bytes do.
    top = request["max_amount"].encode()
    top_point = top.index(b".")
    tail = request["tail"].encode()  # b"<batch_id>,<is_demo>": the same for every row
    breaks = relation_checker(request)
    dates: dict[bytes, bool] = {}
    day_epoch: dict[bytes, int] = {}
    second_of_day: dict[bytes, int] = {}
    md5 = hashlib.md5
    hexlify = binascii.hexlify
    slow: list[int] = []
    start, size, most = 0, request["first_chunk"], request["chunk"]
    # Each chunk is a savepoint, i.e. a subtransaction; past 64 of them PostgreSQL's snapshots of
    # the other sessions overflow to pg_subtrans while the import runs: a big file gets bigger
    # chunks instead.
    most = max(most, -(-len(lines) // MAX_CHUNKS))
    while start < len(lines):
        keys, logs, rows, buckets = [], [], [], {}
        for number, line in enumerate(lines[start : start + size], start=start + 2):
            if not line or line == b"\r":
                continue  # a blank line is no row (as when the file is read row by row)
            if rewrite is not None:
                line = rewrite(line)
                if line is None:
                    slow.append(number)
                    continue
            m = match(line)
            if m is None or (odd and _padded(line, odd)):
                slow.append(number)
                continue
            sid, cert, ins, clr, amounts, day, tod, code, atd, platform, brdy = m.group(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
            clinic = facilities.get(code)
            point = amounts.find(b".")  # of medfee_sumamt, the first amount
            if (
                clinic is None
                or sid in repeated
                or point > top_point
                or (point == top_point and amounts[: point + 3] > top)
            ):
                slow.append(number)
                continue
            base = day_epoch.get(day)
            if base is None:
                y, mo, d = int(day[:4]), int(day[5:7]), int(day[8:10])
                valid = d <= calendar.monthrange(y, mo)[1]
                # Beijing time (spec.UTC_OFFSET_SECONDS, checked against settings.TIME_ZONE).
                base = day_epoch[day] = calendar.timegm((y, mo, d, 0, 0, 0)) - UTC_OFFSET_SECONDS if valid else -1
            if base < 0:
                slow.append(number)
                continue
            seconds = second_of_day.get(tod)
            if seconds is None:
                seconds = second_of_day[tod] = int(tod[:2]) * 3600 + int(tod[3:5]) * 60 + int(tod[6:8])
            epoch = base + seconds
            if epoch > now:
                slow.append(number)
                continue
            given = platform.strip(b",")  # a row of an old HIS file gives none of the 2207 fields
            if given:
                if brdy:
                    valid = dates.get(brdy)
                    if valid is None:
                        y, mo, d = int(brdy[:4]), int(brdy[5:7]), int(brdy[8:10])
                        valid = dates[brdy] = d <= calendar.monthrange(y, mo)[1]
                    if not valid:
                        slow.append(number)
                        continue
                    if len(brdy) > 10:
                        platform = platform.replace(MIDNIGHT, b"")  # the only space the 2207 fields may hold
                if breaks(amounts.split(b","), platform.split(b",")):
                    slow.append(number)
                    continue
            # The log's first seven columns are the file's, with the ID number masked.
            if cert:
                masked = mask_id_number(cert)
                head = line[: m.start(2)] + masked + line[m.end(2) : m.start(5)]
            else:
                head = line[: m.start(5)]
            fid, fid_text = clinic
            if given:
                fp = hexlify(md5((b"%b%b|%d|%b|%b||%b" % (head, fid_text, epoch, amounts, atd, platform))
                                 .replace(b",", b"|")).digest())
            else:
                fp = hexlify(md5((b"%b%b|%d|%b|%b|" % (head, fid_text, epoch, amounts, atd)).replace(b",", b"|")).digest())
            at = b"%b %b+08" % (day, tod)
            keys.append(b"%b\t%b\t%b\t%b\n" % (sid, at, fp, fid_text))
            # CSV (an empty value is NULL but in the old text columns, FORCE_NOT_NULL: lane.LOG_COPY).
            logs.append(b"%b%b,%b,%b,%b,,%b,%b\n" % (head, amounts, at, fid_text, atd, tail, platform))
            rows.append(number)
            bucket = buckets.get((fid, day[:7], ins, clr))
            if bucket is None:
                bucket = buckets[(fid, day[:7], ins, clr)] = []
            bucket.append(amounts)
        if rows:
            emit(
                (
                    "chunk",
                    {
                        "keys": b"".join(keys),
                        # COPY's CSV format (no value holds a comma or a quote): an empty 2207 value
                        # is NULL, as the other engines store it.
                        "logs": b"".join(logs),
                        "rows": array.array("q", rows).tobytes(),
                        "totals": _totals(buckets),
                    },
                )
            )
        start += size
        size = min(most, max(size + 1, size * 3 // 2))
    emit(("end", slow))


def _totals(buckets: dict) -> dict:
    """Visits and the sum of each amount in cents, per (clinic, month, insutype, clr_type): the
    amounts of a bucket are parsed in one go (canonical text: dropping the point gives cents)."""
    totals = {}
    for (fid, month, ins, clr), amounts in buckets.items():
        cents = list(map(int, b",".join(amounts).replace(b".", b"").split(b",")))
        totals[(fid, month.decode(), ins.decode(), clr.decode())] = [len(amounts)] + [
            sum(cents[i::6]) for i in range(6)
        ]
    return totals


def main() -> None:
    gc.disable()  # millions of short-lived strings and no cycles: the collector only costs time
    # The upload's bytes come in a file the parent passed (argv[1] is its descriptor), so the
    # lines are split and the repeats found while the parent checks the header and opens the
    # batch; the request follows on stdin.
    upload = os.fdopen(int(sys.argv[1]), "rb")
    upload.seek(0)
    data = upload.read()
    upload.close()
    data = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    end = data.find(b"\n")
    head, body = (data, b"") if end < 0 else (data[:end], data[end + 1 :])
    del data
    names = header_names(head)  # the platform's names (or the Chinese ones, in UTF-8)
    id_column = names.index("setl_id") if "setl_id" in names else 0
    prepared = prepare(body, id_column)  # as UTF-8, the usual case
    request = json.loads(sys.stdin.buffer.readline())
    header = request["header"]  # as the parent read it (in the upload's encoding)
    if "setl_id" in header and header.index("setl_id") != id_column:
        id_column = header.index("setl_id")
        prepared = prepare(body, id_column)
    if request["encoding"] != "utf-8":
        prepared = prepare(body.decode(request["encoding"]).encode(), id_column)
    del body
    out = sys.stdout.buffer

    def emit(message) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    take(request, prepared, emit)


if __name__ == "__main__":
    main()
