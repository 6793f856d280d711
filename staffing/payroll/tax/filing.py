"""The monthly withholding filing (全员全额扣缴申报) for the tax client 自然人电子税务局（扣缴端）: one
workbook with the import templates of `../shared/docs/payroll-outputs.md` Part 1.

- 正常工资薪金收入 (§1.1, the current 24 columns): one row per person paid by the month's approved
  or paid runs, zero tax included; ID numbers as text cells, amounts as numbers rounded to the cent,
  0 for unused columns. 本期收入 is the month's taxable wage income plus its tax-free earnings (a
  separately taxed bonus is not in it); 本期免税收入 the tax-free earnings. The social-insurance
  withholding is split by the doctor's scheme: medical = the line's base × the scheme's medical
  rate, unemployment = base × its unemployment rate, pension the rest; a flat-amount scheme (the
  resident pension scheme, 城乡居民基本养老保险) is all 基本养老保险费. The 累计 columns are the year's
  special additional deductions up to the month (the rows the calculation used: a month's rows are
  frozen once its run is approved).
- 全年一次性奖金收入 (§1.2, the 10-column layout without 协定减免): persons with a bonus taxed
  separately that month, written only when there is one.
- 人员信息采集 (§1.3, 51 columns): persons paid that month who were hired or left in it; 性别 and
  出生日期 from the ID number, 国籍(地区) 中国, 任职受雇从业类型 雇员, bank and account as text.

Every text cell goes through `core.tabular.neutralise` (no formula can run)."""

import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from core.months import month_end
from core.tabular import neutralise
from core.validators import resident_id_birth_date, resident_id_sex
from staffing.payroll.models import InsuranceScheme, PayRun, Payslip, PayslipLine
from staffing.payroll.money import ZERO, money
from staffing.payroll.tax.bonus import BONUS, SEPARATE
from staffing.payroll.tax.deductions import CATEGORIES, FILING_HEADERS, deductions_to_date

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WAGES_SHEET = "正常工资薪金收入"
BONUS_SHEET = "全年一次性奖金收入"
PEOPLE_SHEET = "人员信息采集"
ID_TYPE = "居民身份证"

WAGE_HEADERS = [
    "工号", "*姓名", "*证件类型", "*证件号码", "本期收入", "本期免税收入", "基本养老保险费", "基本医疗保险费", "失业保险费", "住房公积金",
    "累计子女教育", "累计继续教育", "累计住房贷款利息", "累计住房租金", "累计赡养老人", "累计3岁以下婴幼儿照护", "累计个人养老金",
    "企业(职业)年金", "商业健康保险", "税延养老保险", "其他", "准予扣除的捐赠额", "减免税额", "备注",
]
BONUS_HEADERS = ["工号", "*姓名", "*证件类型", "*证件号码", "*全年一次性奖金额", "免税收入", "其他", "准予扣除的捐赠额", "减免税额", "备注"]
PEOPLE_HEADERS = [
    "工号", "*姓名", "*证件类型", "*证件号码", "*国籍(地区)", "*性别", "*出生日期", "是否高级专家", "*任职受雇从业类型", "其他情况说明",
    "入职年度就业情形", "手机号码", "任职受雇从业日期", "离职日期", "是否离职后补发工资", "实际补发工资的月份", "是否残疾", "是否烈属", "是否孤老",
    "残疾证件类型", "残疾证号", "烈属证号", "是否扣除减除费用", "个人投资额", "个人投资比例(%)", "备注", "中文名", "涉税事由",
    "出生国家(地区)", "首次入境时间", "预计离境时间", "其他证件类型", "其他证件号码", "户籍所在地（省）", "户籍所在地（市）",
    "户籍所在地（区县）", "户籍所在地（详细地址）", "经常居住地（省）", "经常居住地（市）", "经常居住地（区县）", "经常居住地（详细地址）",
    "联系地址（省）", "联系地址（市）", "联系地址（区县）", "联系地址（详细地址）", "电子邮箱", "学历", "开户银行", "银行账号", "开户行省份",
    "职务",
]
TEXT_COLUMNS = {"工号", "*姓名", "*证件类型", "*证件号码", "备注", "手机号码", "银行账号", "开户银行"}
assert len(WAGE_HEADERS) == 24 and len(BONUS_HEADERS) == 10 and len(PEOPLE_HEADERS) == 51


class FilingError(Exception):
    """The month cannot be filed (no approved run)."""


@dataclass
class Person:
    doctor: object
    income: Decimal = ZERO  # taxable wage income (本期收入 less tax-free)
    exempt: Decimal = ZERO
    pension: Decimal = ZERO
    medical: Decimal = ZERO
    unemployment: Decimal = ZERO
    bonus: Decimal = ZERO  # taxed separately
    tax: Decimal = ZERO
    deductions: dict = field(default_factory=dict)


@dataclass
class Filing:
    month: datetime.date
    runs: list
    people: list  # Person, ordered by township, clinic, name
    content: bytes = b""

    @property
    def filename(self) -> str:
        return f"个税扣缴申报-{self.month:%Y-%m}.xlsx"

    @property
    def bonus_count(self) -> int:
        return sum(1 for p in self.people if p.bonus > 0)


def filing_runs(*, month: datetime.date, township_id=None) -> list[PayRun]:
    runs = PayRun.objects.filter(month=month.replace(day=1), status__in=[PayRun.Status.APPROVED, PayRun.Status.PAID]).select_related("township")
    if township_id is not None:
        runs = runs.filter(Q(township_id=township_id) | Q(township__isnull=True))
    return list(runs.order_by("township__code"))


def _split(amount: Decimal, base: Decimal, scheme) -> tuple[Decimal, Decimal, Decimal]:
    """(pension, medical, unemployment) of a social-insurance withholding."""
    if scheme is None or scheme.flat_amount is not None:
        return amount, ZERO, ZERO
    medical = min(money(base * scheme.medical_rate), amount)
    unemployment = min(money(base * scheme.unemployment_rate), amount - medical)
    return amount - medical - unemployment, medical, unemployment


def collect(*, month: datetime.date, township_id=None) -> Filing:
    """The month's filing figures, a fixed number of queries for any number of doctors. Raises
    FilingError when the month has no approved or paid run."""
    month = month.replace(day=1)
    runs = filing_runs(month=month, township_id=township_id)
    if not runs:
        raise FilingError(_("No approved pay run for %(month)s: approve the month's run first.") % {"month": f"{month:%Y-%m}"})
    slips = Payslip.objects.filter(run__in=runs).select_related("doctor")
    if township_id is not None:
        slips = slips.filter(township_id=township_id)
    slips = list(slips.order_by("township__code", "facility__code", "doctor__name", "doctor_id"))
    people: dict[int, Person] = {}
    slip_doctor = {}
    for slip in slips:
        person = people.setdefault(slip.doctor_id, Person(doctor=slip.doctor))
        person.income += slip.taxable_income
        person.tax += slip.income_tax
        slip_doctor[slip.pk] = slip.doctor_id
    schemes = {s.code: s for s in InsuranceScheme.objects.all()}
    lines = PayslipLine.objects.filter(payslip_id__in=list(slip_doctor)).filter(
        Q(component="social_insurance") | Q(component=BONUS) | Q(kind=PayslipLine.Kind.EARNING, taxable=False)
    ).values_list("payslip_id", "component", "kind", "taxable", "amount", "quantity", "source")
    for slip_id, component, kind, taxable, amount, quantity, source in lines:
        person = people[slip_doctor[slip_id]]
        if component == "social_insurance" and kind == PayslipLine.Kind.DEDUCTION:
            pension, medical, unemployment = _split(amount, quantity, schemes.get((source or {}).get("scheme")))
            person.pension += pension
            person.medical += medical
            person.unemployment += unemployment
        elif component == BONUS and (source or {}).get("tax_method") == SEPARATE:
            person.bonus += amount
        elif kind == PayslipLine.Kind.EARNING and not taxable:
            person.exempt += amount
    found = deductions_to_date(month=month, doctor_ids=list(people))
    for doctor_id, person in people.items():
        person.deductions = found[doctor_id]["ytd"] if doctor_id in found else dict.fromkeys(CATEGORIES, ZERO)
    return Filing(month=month, runs=runs, people=list(people.values()))


# --- The workbook -------------------------------------------------------------------------------


class _Sheet:
    def __init__(self, workbook, title, headers):
        self.sheet = workbook.create_sheet(title=title)
        self.headers = headers
        self.text_style = None
        self.money_style = None
        self.sheet.append([self.text(h) for h in headers])

    def text(self, value):
        cell = WriteOnlyCell(self.sheet, value=ILLEGAL_CHARACTERS_RE.sub("", neutralise(str(value))))
        cell.data_type = "s"
        if self.text_style is None:
            cell.number_format = "@"
            self.text_style = cell._style
        else:
            cell._style = self.text_style
        return cell

    def amount(self, value):
        cell = WriteOnlyCell(self.sheet, value=money(value or ZERO))
        if self.money_style is None:
            cell.number_format = "0.00"
            self.money_style = cell._style
        else:
            cell._style = self.money_style
        return cell

    def row(self, values: dict, amounts=()):
        cells = []
        for header in self.headers:
            value = values.get(header)
            if header in amounts:
                cells.append(self.amount(value))
            elif value is None or value == "":
                cells.append(None)
            else:
                cells.append(self.text(value))
        self.sheet.append(cells)


def _identity(person: Person) -> dict:
    doctor = person.doctor
    return {"工号": str(doctor.pk), "*姓名": doctor.name, "*证件类型": ID_TYPE, "*证件号码": doctor.id_number,
            "备注": "演示数据（虚构）" if doctor.is_demo else ""}


WAGE_AMOUNTS = WAGE_HEADERS[4:23]
BONUS_AMOUNTS = BONUS_HEADERS[4:9]


def wage_row(person: Person) -> dict:
    row = {**_identity(person), **dict.fromkeys(WAGE_AMOUNTS, ZERO)}
    row.update({"本期收入": person.income + person.exempt, "本期免税收入": person.exempt, "基本养老保险费": person.pension,
                "基本医疗保险费": person.medical, "失业保险费": person.unemployment})
    row.update({FILING_HEADERS[name]: person.deductions.get(name, ZERO) for name in CATEGORIES})
    return row


def people_row(person: Person, month: datetime.date) -> dict:
    doctor = person.doctor
    last = month_end(month)
    left = doctor.exit_date if doctor.exit_date and doctor.exit_date <= last else None
    return {
        **_identity(person),
        "*国籍(地区)": "中国",
        "*性别": "男" if resident_id_sex(doctor.id_number) == "M" else "女",
        "*出生日期": resident_id_birth_date(doctor.id_number).isoformat(),
        "*任职受雇从业类型": "雇员",
        "手机号码": doctor.mobile,
        "任职受雇从业日期": doctor.hire_date.isoformat(),
        "离职日期": left.isoformat() if left else "",
        "是否扣除减除费用": "是",
        "开户银行": doctor.bank_name,
        "银行账号": doctor.bank_account,
    }


def changes_in_month(filing: Filing) -> list[Person]:
    first, last = filing.month, month_end(filing.month)
    return [p for p in filing.people
            if first <= p.doctor.hire_date <= last or (p.doctor.exit_date and first <= p.doctor.exit_date <= last)]


def workbook_bytes(filing: Filing, progress=None) -> bytes:
    """The workbook. `progress(done, total=None, note="")` (a job's) hears the wage rows written."""
    workbook = Workbook(write_only=True)
    wages = _Sheet(workbook, WAGES_SHEET, WAGE_HEADERS)
    note = _("Writing the wage rows") if progress is not None else ""
    for done, person in enumerate(filing.people, 1):
        wages.row(wage_row(person), amounts=WAGE_AMOUNTS)
        if progress is not None:
            progress(done, total=len(filing.people), note=note)
    bonus_people = [p for p in filing.people if p.bonus > 0]
    if bonus_people:
        sheet = _Sheet(workbook, BONUS_SHEET, BONUS_HEADERS)
        for person in bonus_people:
            sheet.row({**_identity(person), **dict.fromkeys(BONUS_AMOUNTS, ZERO), "*全年一次性奖金额": person.bonus}, amounts=BONUS_AMOUNTS)
    people = _Sheet(workbook, PEOPLE_SHEET, PEOPLE_HEADERS)
    for person in changes_in_month(filing):
        people.row(people_row(person, filing.month))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def tax_filing_build(*, month: datetime.date, township_id=None, progress=None) -> Filing:
    """The month's filing with its workbook (`content`). Raises FilingError."""
    filing = collect(month=month, township_id=township_id)
    filing.content = workbook_bytes(filing, progress=progress)
    return filing


def township_for(user):
    """The township a user's filing is limited to: None for county-wide users (the whole month),
    a township admin's township. Others file nothing (PermissionError)."""
    from clinics.models import Role
    from clinics.scoping import is_county_wide, user_role

    if is_county_wide(user):
        return None
    if user_role(user) == Role.TOWNSHIP_ADMIN:
        return user.scope.township_id
    raise PermissionError


__all__ = ["BONUS_HEADERS", "PEOPLE_HEADERS", "WAGE_HEADERS", "Filing", "FilingError", "collect", "tax_filing_build", "workbook_bytes"]
