"""What a settlement upload is, in one place for every engine: its columns, their lengths, what
counts as blank, the patterns of an amount and a time, the fingerprint's order, and Beijing time.

Standard library only: the fast lane's child process (`fastlane`, run without Django) imports it,
as do the rules table (`rules`), the Python engine and the SQL engine (`ingest`). The ID number is
masked by `core.masking` (standard library too). `apps.SettlementsConfig` checks at start-up that
TIME_ZONE and UTC_OFFSET_SECONDS agree with settings.TIME_ZONE.
"""

import hashlib

# Columns of an upload, named as the national platform names them, in the documented order.
FIELDS = (
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "psn_name",
    "certno",
    "insutype",
    "clr_type",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "hifp_pay",
    "maf_pay",
    "acct_pay",
    "psn_cash_pay",
    "setl_time",
    "fixmedins_code",
    "atddr_no",
    "init_setl_id",
)
OPTIONAL = frozenset({"certno", "atddr_no", "init_setl_id"})
REQUIRED = tuple(f for f in FIELDS if f not in OPTIONAL)
AMOUNT_FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "maf_pay", "acct_pay", "psn_cash_pay")
MAX_LENGTH = {
    "setl_id": 30,
    "mdtrt_id": 30,
    "psn_no": 30,
    "psn_name": 50,
    "certno": 18,
    "atddr_no": 30,
    "init_setl_id": 30,
    "fixmedins_code": 30,
}
# Codes: identifiers of the national platform and the register. An input method's full-width digits
# and letters (１２３, Ｘ) are written as ASCII first (NFKC, `core.validators.normalize_code`),
# on every engine, so one settlement cannot be recorded twice in two spellings; the fast lane takes
# only lines whose codes are ASCII already and hands the others to the SQL engine.
CODE_FIELDS = ("setl_id", "mdtrt_id", "psn_no", "certno", "insutype", "clr_type", "fixmedins_code", "atddr_no",
               "init_setl_id")

# What trimming a value means, in every engine: the characters Python's str.strip() removes (those
# str.isspace() calls white space), among them the ideographic space U+3000 that Chinese input
# methods type and the no-break space spreadsheets leave. The SQL engine gives them to btrim(). The
# lane's byte patterns see ASCII white space only: a line with one of the others (ODD_BLANKS, in
# UTF-8) at the edge of a field goes to the SQL engine.
BLANKS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
ODD_BLANKS = tuple(c.encode() for c in BLANKS if not c.encode().isspace())

# An amount: yuan, 1 to 10 digits, optionally a point and 1 or 2 decimals (numeric(12,2)). The
# patterns are POSIX regular expressions without Python-only syntax: Python and PostgreSQL run the
# same text. The lane takes only the canonical text numeric(12,2) prints (35.50, 0.00).
AMOUNT_DIGITS, AMOUNT_DECIMALS = 10, 2
AMOUNT_PATTERN = rf"^[0-9]{{1,{AMOUNT_DIGITS}}}(\.[0-9]{{1,{AMOUNT_DECIMALS}}})?$"
NEGATIVE_PATTERN = rf"^-[0-9]{{1,{AMOUNT_DIGITS}}}(\.[0-9]{{1,{AMOUNT_DECIMALS}}})?$"
LANE_AMOUNT = rb"(?:0|[1-9][0-9]{0,%d}+)\.%b" % (AMOUNT_DIGITS - 1, b"[0-9]" * AMOUNT_DECIMALS)

# A time: the shape and the ranges (year from 2000, month, day 01–31, hour, minute, second) in one
# pattern; the calendar (30 February) is checked after it. Written like 2026-11-03 09:30:00, a T
# for the space and no seconds are accepted; the lane takes only the written-out form.
YEAR = "2[0-9]{3}|[3-9][0-9]{3}"
MONTH = "0[1-9]|1[0-2]"
DAY = "0[1-9]|[12][0-9]|3[01]"
HOUR = "[01][0-9]|2[0-3]"
MINUTE = SECOND = "[0-5][0-9]"
TIME_PATTERN = f"^({YEAR})-({MONTH})-({DAY})[ T]({HOUR}):({MINUTE})(:({SECOND}))?$"
TIME_GROUPS = (1, 2, 3, 4, 5, 7)  # year, month, day, hour, minute, second (may be None)
LANE_TIME = f"((?:{YEAR})-(?:{MONTH})-(?:{DAY})) ((?:{HOUR}):(?:{MINUTE}):(?:{SECOND}))".encode()

# Beijing time: UTC+8 all year since 1991 (the years start at 2000 here), so the lane turns a
# local time into a Unix time by subtracting UTC_OFFSET_SECONDS; the SQL engine reads local times
# AT TIME ZONE TIME_ZONE; the Python engine uses settings.TIME_ZONE, which must be the same.
TIME_ZONE = "Asia/Shanghai"
UTC_OFFSET_SECONDS = 8 * 3600

# The fingerprint of a settlement: MD5 of these values joined by "|" (the clinic's id, the Unix
# time, amounts as numeric(12,2) prints them, certno masked). A resent row is a duplicate when its
# fingerprint is the one recorded, so the three engines must write it byte for byte alike.
FINGERPRINT = (
    "setl_id", "mdtrt_id", "psn_no", "psn_name", "certno_masked", "insutype", "clr_type", "facility_id",
    "settled_epoch", *AMOUNT_FIELDS, "atddr_no", "init_setl_id",
)
FINGERPRINT_SEPARATOR = "|"


def fingerprint(values) -> str:
    """The fingerprint of the values named by FINGERPRINT, in that order, as text."""
    joined = FINGERPRINT_SEPARATOR.join(values).encode()
    return hashlib.md5(joined).hexdigest()  # noqa: S324 - a content fingerprint, not security
