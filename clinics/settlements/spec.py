"""What a settlement upload is, in one place for every engine: its columns, their lengths, what
counts as blank, the patterns of an amount and a time, the fingerprint's order, and Beijing time.

Standard library only: the fast lane's child process (`fastlane`, run without Django) imports it,
as do the rules table (`rules`), the Python engine and the SQL engine (`ingest`). The ID number is
masked by `core.masking` (standard library too). `apps.SettlementsConfig` checks at start-up that
TIME_ZONE and UTC_OFFSET_SECONDS agree with settings.TIME_ZONE.
"""

import hashlib

# The national platform's 2207 answer, node `setlinfo` (国家医疗保障信息平台 定点医药机构接口规范;
# ../shared/docs/insurance-platform.md §1b), field by field: its name, its Chinese name (what a
# clinic's HIS writes as the column header), the platform's type and length, and how the log keeps
# it. C = text of at most n characters; N16,2 = an amount, stored as numeric(12,2): every accepted
# amount is at most SETTLEMENT_MAX_AMOUNT (≤ 10 integer digits), so the narrower column loses
# nothing the rules accept; N5,4 and N4,1 as declared; date and datetime as such.
SETLINFO = (
    ("mdtrt_id", "就诊ID", "C30"),
    ("setl_id", "结算ID", "C30"),
    ("psn_no", "人员编号", "C30"),
    ("psn_name", "人员姓名", "C50"),
    ("psn_cert_type", "人员证件类型", "C6"),
    ("certno", "证件号码", "C50"),  # stored masked (certno_masked)
    ("gend", "性别", "C6"),
    ("naty", "民族", "C3"),
    ("brdy", "出生日期", "date"),
    ("age", "年龄", "N4,1"),
    ("insutype", "险种类型", "C6"),
    ("psn_type", "人员类别", "C6"),
    ("cvlserv_flag", "公务员标志", "C3"),
    ("setl_time", "结算时间", "datetime"),  # stored as settled_at
    ("mdtrt_cert_type", "就诊凭证类型", "C3"),
    ("med_type", "医疗类别", "C6"),
    ("medfee_sumamt", "医疗费总额", "N16,2"),
    ("fulamt_ownpay_amt", "全自费金额", "N16,2"),
    ("overlmt_selfpay", "超限价自费费用", "N16,2"),
    ("preselfpay_amt", "先行自付金额", "N16,2"),
    ("inscp_scp_amt", "符合政策范围金额", "N16,2"),
    ("act_pay_dedc", "实际支付起付线", "N16,2"),
    ("hifp_pay", "基本医疗保险统筹基金支出", "N16,2"),
    ("pool_prop_selfpay", "基本医疗保险统筹基金支付比例", "N5,4"),  # a ratio: never summed
    ("cvlserv_pay", "公务员医疗补助资金支出", "N16,2"),
    ("hifes_pay", "企业补充医疗保险基金支出", "N16,2"),
    ("hifmi_pay", "居民大病保险资金支出", "N16,2"),
    ("hifob_pay", "职工大额医疗费用补助基金支出", "N16,2"),
    ("maf_pay", "医疗救助基金支出", "N16,2"),
    ("oth_pay", "其他支出", "N16,2"),
    ("fund_pay_sumamt", "基金支付总额", "N16,2"),
    ("psn_part_amt", "个人负担总金额", "N16,2"),
    ("acct_pay", "个人账户支出", "N16,2"),
    ("psn_cash_pay", "个人现金支出", "N16,2"),
    ("hosp_part_amt", "医院负担金额", "N16,2"),
    ("balc", "余额", "N16,2"),  # the personal account's balance after the settlement: not a payment
    ("acct_mulaid_pay", "个人账户共济支付金额", "N16,2"),
    ("medins_setl_id", "医药机构结算ID", "C30"),
    ("clr_optins", "清算经办机构", "C6"),
    ("clr_way", "清算方式", "C6"),
    ("clr_type", "清算类别", "C6"),
)
# Cunyi's own columns beside them: the clinic (its register code or its platform code "H" + 11
# digits), the practitioner, and on a reversal the setl_id it cancels (2208 answers with a new
# setl_id; the upload names the original here).
OWN_COLUMNS = (
    ("fixmedins_code", "定点医药机构编号", "C30"),
    ("atddr_no", "医保医师代码", "C30"),
    ("init_setl_id", "原结算ID", "C30"),
)

# Columns of an upload in the documented order: the columns the log kept before the 2207 fields
# (an old HIS file has these only), then the other setlinfo fields in the platform's order. Every
# one of the later ones may be empty (an old HIS file does not have them): stored as NULL.
BASE_FIELDS = (
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
PLATFORM_FIELDS = tuple(name for name, _label, _kind in SETLINFO if name not in BASE_FIELDS)
FIELDS = BASE_FIELDS + PLATFORM_FIELDS
OPTIONAL = frozenset({"certno", "atddr_no", "init_setl_id", *PLATFORM_FIELDS})
REQUIRED = tuple(f for f in FIELDS if f not in OPTIONAL)
AMOUNT_FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "maf_pay", "acct_pay", "psn_cash_pay")
# The 2207 amounts beyond the six: money (numeric(12,2)), optional. `balc` is a balance, not a
# payment of this settlement: it is neither bounded per visit nor negated on a reversal nor summed.
PLATFORM_AMOUNTS = tuple(name for name, _label, kind in SETLINFO if kind == "N16,2" and name not in AMOUNT_FIELDS)
BALANCE_FIELDS = ("balc",)
# The amounts a reversal carries with the sign of its original's opposite (2208): every payment.
SIGNED_AMOUNTS = AMOUNT_FIELDS + tuple(a for a in PLATFORM_AMOUNTS if a not in BALANCE_FIELDS)
RATIO_FIELDS = ("pool_prop_selfpay",)  # N5,4
AGE_FIELDS = ("age",)  # N4,1
DATE_FIELDS = ("brdy",)  # a date; "yyyy-MM-dd 00:00:00" (as 2207 samples write it) is read as the date
PLATFORM_TEXT = tuple(f for f in PLATFORM_FIELDS if f not in (*PLATFORM_AMOUNTS, *RATIO_FIELDS, *AGE_FIELDS, *DATE_FIELDS))
KIND = {name: kind for name, _label, kind in SETLINFO + OWN_COLUMNS}
MAX_LENGTH = {
    "setl_id": 30,
    "mdtrt_id": 30,
    "psn_no": 30,
    "psn_name": 50,
    "certno": 50,
    "atddr_no": 30,
    "init_setl_id": 30,
    "fixmedins_code": 30,
    **{name: int(KIND[name][1:]) for name in PLATFORM_TEXT},
}
# A column header as a clinic's HIS may write it: the platform's name, or its Chinese name (§1b),
# e.g. 医疗费总额 for medfee_sumamt. NT's 2208 answer spells psn_cash_pay "pdn_cash_pay".
HEADER_ALIASES = {label: name for name, label, _kind in SETLINFO + OWN_COLUMNS} | {"pdn_cash_pay": "psn_cash_pay"}


def column_name(header: str) -> str:
    """The platform's name of a column header (its own name, or its Chinese name)."""
    return HEADER_ALIASES.get(header, header)


# Codes: identifiers of the national platform and the register. An input method's full-width digits
# and letters (１２３, Ｘ) are written as ASCII first (NFKC, `core.validators.normalize_code`),
# on every engine, so one settlement cannot be recorded twice in two spellings; the fast lane takes
# only lines whose codes are ASCII already and hands the others to the SQL engine.
CODE_FIELDS = ("setl_id", "mdtrt_id", "psn_no", "certno", "insutype", "clr_type", "fixmedins_code", "atddr_no",
               "init_setl_id", *PLATFORM_TEXT)

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
# time, amounts as numeric(12,2) prints them, certno masked) — and, when the row gives any of the
# 2207 fields the log did not keep before (PLATFORM_FIELDS), those too, in their order, each as the
# log prints it ("" for one not given). A row without them (an old HIS file, a row recorded before)
# keeps the fingerprint it always had, so a resent old file stays a duplicate. A resent row is a
# duplicate when its fingerprint is the one recorded, so the three engines must write it byte for
# byte alike.
FINGERPRINT = (
    "setl_id", "mdtrt_id", "psn_no", "psn_name", "certno_masked", "insutype", "clr_type", "facility_id",
    "settled_epoch", *AMOUNT_FIELDS, "atddr_no", "init_setl_id",
)
FINGERPRINT_SEPARATOR = "|"


def fingerprint(values, platform=()) -> str:
    """The fingerprint of the values named by FINGERPRINT, in that order, as text, followed by the
    PLATFORM_FIELDS values (text as the log prints them, "" when not given) if any is given."""
    platform = tuple(platform)
    joined = FINGERPRINT_SEPARATOR.join((*values, *platform) if any(platform) else values).encode()
    return hashlib.md5(joined).hexdigest()  # noqa: S324 - a content fingerprint, not security


# Reversals (2208 门诊结算撤销): a reversal is its own settlement (its own setl_id) whose
# init_setl_id names the original. The platform sends its amounts negative; a terminal may send
# them positive. Both are read; the log keeps ONE convention: every amount is stored as a positive
# number (the CHECKs), and a reversal counts minus its amounts (and −1 visit) in every sum, in the
# month it was recorded. A reversal's payments (SIGNED_AMOUNTS) are either all ≥ 0 or all ≤ 0.

# The 2208 answer's `setlinfo` (NT `Output_2208.cs`, ../shared/docs/insurance-platform.md §2): 26
# fields — the reversal's own setl_id, the visit, the time and the amounts, but not who was treated,
# under which insurance or in which category. A reversal sent as 2208 answers it (these fields plus
# `init_setl_id`, the 2208 input's setl_id) takes the fields it lacks (REVERSAL_INHERITED) from the
# original it names: they are the original's by definition (2208 cancels that settlement), so
# nothing is invented; a value the reversal gives is kept (and must then match the rules as usual).
REVERSAL_SETLINFO = (
    "mdtrt_id", "setl_id", "clr_optins", "setl_time", "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay",
    "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay",
    "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "balc",
    "acct_mulaid_pay", "hosp_part_amt", "medins_setl_id", "psn_cash_pay",
)
REVERSAL_INHERITED = tuple(f for f in FIELDS if f not in REVERSAL_SETLINFO and f != "init_setl_id")
