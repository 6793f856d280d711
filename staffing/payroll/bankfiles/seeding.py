"""The bank file formats shipped with Cunyi (from `docs` payroll-outputs Part 2) and the demo
paying banks. Idempotent: a format or bank that exists (by code / name) is left as the payroll
officer edited it."""

from django.db import transaction

from staffing.payroll.models import BankFileColumn, BankFileFormat, PayingBank

F = BankFileColumn.Field
Type = BankFileFormat.FileType

# code: (format fields, [(field, title, width, value)])
SHIPPED_FORMATS = {
    "ABC": (
        {"name": "中国农业银行 代发工资（银企通定长文本）", "file_type": Type.FIXED, "encoding": BankFileFormat.Encoding.GBK,
         "line_ending": BankFileFormat.LineEnding.LF, "amount_decimals": 3,
         "notes": "银企通 CFRT03 代发文件：每行 姓名60·账号30·金额18（3位小数）·附言30 字节，左对齐、空格补位，宽度按 GBK 字节计。"
                  "批交易总金额与总笔数在报文中提交（见核对表），不在文件内。使用前请与农业银行核对宽度。"},
        [(F.NAME, "姓名", 60, ""), (F.ACCOUNT, "账号", 30, ""), (F.AMOUNT, "金额", 18, ""), (F.PURPOSE, "附言", 30, "")],
    ),
    "CCB": (
        {"name": "中国建设银行 网银代发工资表（9列）", "file_type": Type.XLSX, "title_row": True, "sheet_name": "Sheet1",
         "notes": "序号·账户·户名·金额·跨行标识·行名·联行行号·摘要·备注；空单元格不写任何值（建设银行拒收空字符串单元格），"
                  "跨行标识与行名可留空由银行识别；金额为数值、格式 0.00。"},
        [(F.SEQUENCE, "序号", None, ""), (F.ACCOUNT, "账户", None, ""), (F.NAME, "户名", None, ""), (F.AMOUNT, "金额", None, ""),
         (F.CROSS_BANK, "跨行标识", None, ""), (F.EMPTY, "行名", None, ""), (F.BRANCH_CODE, "联行行号", None, ""),
         (F.PURPOSE, "摘要", None, ""), (F.EMPTY, "备注", None, "")],
    ),
    "ICBC": (
        {"name": "中国工商银行 网银代发工资表（3列）", "file_type": Type.XLSX, "title_row": True, "sheet_name": "Sheet1",
         "notes": "账号·户名·金额，一行标题。"},
        [(F.ACCOUNT, "账号", None, ""), (F.NAME, "户名", None, ""), (F.AMOUNT, "金额", None, "")],
    ),
    "EBANK": (
        {"name": "通用网银代发表格", "file_type": Type.XLSX, "title_row": True, "sheet_name": "代发工资", "max_records": 2000,
         "notes": "未录入本行模板时使用：序号·户名·账号·金额·开户银行·用途。每个文件最多 2000 笔（网银实时处理上限），超出分文件。"
                  "请尽快向开户行索取代发模板，在此录入新格式并改到该银行名下。"},
        [(F.SEQUENCE, "序号", None, ""), (F.NAME, "户名", None, ""), (F.ACCOUNT, "账号", None, ""), (F.AMOUNT, "金额", None, ""),
         (F.BANK_NAME, "开户银行", None, ""), (F.PURPOSE, "用途", None, "")],
    ),
}

WAITING_FOR_TEMPLATE = "使用通用网银表格，待该行提供代发工资模板后在“银行代发文件格式”中录入，并在此改选。"
# bank name as in the register → (format code, notes)
DEMO_PAYING_BANKS = {
    "中国农业银行": ("ABC", ""),
    "广西农村信用社": ("EBANK", WAITING_FOR_TEMPLATE),
    "中国邮政储蓄银行": ("EBANK", WAITING_FOR_TEMPLATE),
    "中国建设银行": ("CCB", ""),
    "中国工商银行": ("ICBC", ""),
}


def _count(counts: dict, key: str, created: bool) -> None:
    counts.setdefault(key, {"created": 0, "existing": 0})
    counts[key]["created" if created else "existing"] += 1


@transaction.atomic
def seed_bank_formats(counts: dict) -> None:
    formats = {}
    for code, (fields, columns) in SHIPPED_FORMATS.items():
        file_format, created = BankFileFormat.objects.get_or_create(code=code, defaults={**fields, "is_shipped": True})
        formats[code] = file_format
        _count(counts, "bank file format", created)
        if created:
            BankFileColumn.objects.bulk_create(
                BankFileColumn(file_format=file_format, position=position, field=field, title=title, width=width, value=value)
                for position, (field, title, width, value) in enumerate(columns, 1)
            )
    for bank_name, (code, notes) in DEMO_PAYING_BANKS.items():
        _bank, created = PayingBank.objects.get_or_create(bank_name=bank_name, defaults={"file_format": formats[code], "notes": notes})
        _count(counts, "paying bank", created)


# The bank name `staffing.seeding.seed_synthetic` gives its province-scale doctors.
SYNTHETIC_BANK = "合成银行"


def seed_synthetic_paying_bank() -> PayingBank:
    """The synthetic doctors' bank, paid through the generic e-bank sheet (idempotent)."""
    seed_bank_formats({})
    bank, _created = PayingBank.objects.get_or_create(
        bank_name=SYNTHETIC_BANK,
        defaults={"file_format": BankFileFormat.objects.get(code="EBANK"), "notes": "合成数据（省级规模测试）使用的银行，按通用网银表格代发。"},
    )
    return bank
