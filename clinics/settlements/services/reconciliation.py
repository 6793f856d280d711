"""Reconciliation with the national platform (对账) the platform's way: 3201 and 3202.

- **3201 对总账**: `reconciliation_compute` computes Cunyi's side for a period (Beijing dates
  stmt_begndate..stmt_enddate) per clinic × insutype × clr_type × clearing agency (`setl_optins`
  = the settlements' `clr_optins`): medfee_sumamt, fund_pay_sumamt, acct_pay and
  fixmedins_setl_cnt with reversals netted — a settlement counts +1 and its amounts, a reversal
  −1 and minus its amounts, both in the period they were made (X1's netting; HSA's, which leaves
  refunds out, would need refd_setl_flag "1"); refd_setl_flag is therefore sent as "0" (ZB, HSA).
  The platform's answer (`stmtinfo`: stmt_rslt 0 balanced / 1 centre more / 2 institution more /
  3 inconsistent, stmt_rslt_dscr) is recorded per line by `answer_record` (admin) or
  `answers_import` (a JSON or CSV/XLSX file of answers). Cunyi does not decide "balanced": a
  reconciliation is balanced when the platform answered 0 to every line. Recomputing keeps a
  line's answer while its figures are unchanged, and clears it when they changed (the answer was
  about other figures; the audit trail keeps it).
- **3202 对明细账, the upload file**: `detail_rows` + `detail_file` write the file as the platform
  takes it — one row per settlement of the period, 7 columns TAB-separated (setl_id, mdtrt_id,
  psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag), no header, UTF-8, rows joined
  by "\\n" with no line break after the last row (ZB's writer), amounts with 2 decimals. A
  refunded settlement is two rows: the original (flag 0, positive) and its reversal (its own
  setl_id, flag 1, negative amounts). The log requires every one of these fields, so no cell is
  ever empty (the literal "null" of X1 is never needed). `detail_zip` puts it in the 9101
  container (a .zip holding the .txt).
- **3202 result**: `result_import` reads the platform's result (result.txt or the downloaded
  zip): 10 columns TAB-separated, no header, "null" for empty — psn_no, mdtrt_id, setl_id, msgid,
  stmt_rslt, refd_setl_flag, memo, medfee_sumamt, fund_pay_sumamt, acct_pay (the centre's side);
  UTF-8, or GB18030 when it is not valid UTF-8 (a UTF-8 BOM is dropped). A file with any bad row
  is refused whole, with the rows to fix; otherwise every row is kept with its stmt_rslt and
  classified (`ReconciliationItem.Status`) by looking the settlement up in Cunyi's log by setl_id
  and, when that fails, by mdtrt_id and psn_no. Importing a result again replaces the earlier one.
"""

import datetime
import io
import json
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Facility
from clinics.scoping import require_facility_reach, scope_facilities
from clinics.settlements.models import (
    Reconciliation,
    ReconciliationItem,
    ReconciliationTotal,
    SettlementRecord,
    StmtResult,
)
from clinics.settlements.partitions import month_start
from clinics.settlements.rules import field_label
from clinics.settlements.selectors import _signed, period_bounds, records_by_setl_id
from core.audit import audit_bulk, audit_record
from core.months import month_end
from core.tabular import TableError, clean_cell, enforce_upload_limits, read_table, upload_limit

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_ERRORS_SHOWN = 20
MAX_PERIOD_DAYS = 366
AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")
DETAIL_COLUMNS = ("setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "refd_setl_flag")
RESULT_COLUMNS = ("psn_no", "mdtrt_id", "setl_id", "msgid", "stmt_rslt", "refd_setl_flag", "memo",
                  "medfee_sumamt", "fund_pay_sumamt", "acct_pay")
ANSWER_COLUMNS = ["fixmedins_code", "insutype", "clr_type", "setl_optins", "stmt_rslt", "stmt_rslt_dscr"]
NULLS = {"", "null", "NULL", "Null"}
RESULT_AMOUNT_RE = re.compile(r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$")
FLAG_RE = re.compile(r"^0{0,2}[01]$")  # "0"/"1", and X1's zero-padded "000"/"001"
ZIP_MAX_MEMBERS = 20


def _refuse(errors: list[str], code: str = "bad_file") -> None:
    shown = errors[:MAX_ERRORS_SHOWN]
    more = len(errors) - len(shown)
    if more:
        shown.append(_("…and %(n)s more rows with errors.") % {"n": more})
    raise ValidationError(shown, code=code)


def _row_error(number: int, message: str) -> str:
    return _("Row %(row)s: %(message)s") % {"row": number, "message": message}


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


# --- The period -------------------------------------------------------------------------------


def check_period(begin: datetime.date, end: datetime.date) -> tuple[datetime.date, datetime.date]:
    """A reconciliation period: Beijing dates, the end not before the start, at most a year."""
    if not isinstance(begin, datetime.date) or not isinstance(end, datetime.date):
        raise ValidationError(_("Give the period as two dates, for example 2026-10-01 and 2026-10-31."),
                              code="bad_period")
    if end < begin:
        raise ValidationError(_("The period ends (%(end)s) before it begins (%(begin)s).")
                              % {"begin": begin, "end": end}, code="bad_period")
    if (end - begin).days >= MAX_PERIOD_DAYS:
        raise ValidationError(_("A reconciliation period is at most a year."), code="bad_period")
    return begin, end


def month_period(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = month_start(month)
    return first, month_end(first)


def parse_date_text(text: str, *, what: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        raise ValidationError(_("%(what)s “%(value)s” is not a date like 2026-10-01.") % {"what": what, "value": text},
                              code="bad_period") from None


def find_clinic(code: str) -> Facility | None:
    """A clinic by its statistical division code or its platform institution code."""
    code = (code or "").strip().upper()
    if not code:
        return None
    return Facility.objects.filter(Q(code=code) | Q(platform_code=code)).first()


# --- 3201: Cunyi's side --------------------------------------------------------------------------


def period_records(begin, end, facility_ids=None):
    start, stop = period_bounds(begin, end)
    records = SettlementRecord.objects.filter(settled_at__gte=start, settled_at__lt=stop)
    if facility_ids is not None:
        records = records.filter(facility_id__in=list(facility_ids))
    return records


def platform_totals(*, begin, end, facility_ids=None) -> dict[int, dict[tuple[str, str, str], dict]]:
    """Cunyi's side of 3201 per clinic and (insutype, clr_type, setl_optins), reversals netted."""
    money = SettlementRecord._meta.get_field("medfee_sumamt")
    rows = (
        period_records(begin, end, facility_ids)
        .annotate(optins=Coalesce("clr_optins", Value("")))
        .values("facility_id", "insutype", "clr_type", "optins")
        .annotate(
            cnt=Sum(_signed(Value(1))),
            medfee=Coalesce(Sum(_signed(F("medfee_sumamt"))), Value(ZERO), output_field=money),
            fund=Coalesce(Sum(_signed(F("fund_pay_sumamt"))), Value(ZERO), output_field=money),
            acct=Coalesce(Sum(_signed(F("acct_pay"))), Value(ZERO), output_field=money),
        )
        .order_by()
    )
    groups: dict[int, dict] = defaultdict(dict)
    for r in rows:
        groups[r["facility_id"]][(r["insutype"], r["clr_type"], r["optins"] or "")] = {
            "fixmedins_setl_cnt": int(r["cnt"] or 0), "medfee_sumamt": _money(r["medfee"]),
            "fund_pay_sumamt": _money(r["fund"]), "acct_pay": _money(r["acct"]),
        }
    return groups


def derive_balanced(reconciliation: Reconciliation) -> bool | None:
    """The platform's word: every line answered 0 → True; any other answer → False; else None."""
    answers = [line.stmt_rslt for line in reconciliation.totals.all()]
    if any(a and a != StmtResult.BALANCED for a in answers):
        return False
    if answers and all(a == StmtResult.BALANCED for a in answers):
        return True
    return None


FIGURES = ("fixmedins_setl_cnt", "medfee_sumamt", "fund_pay_sumamt", "acct_pay")


def _clear_answer(line: ReconciliationTotal) -> None:
    line.stmt_rslt, line.stmt_rslt_dscr, line.answered_at, line.answered_by, line.answer_source = "", "", None, None, ""


@transaction.atomic
def reconciliation_compute(*, begin, end, acting_user=None, facility_ids=None) -> list[Reconciliation]:
    """Compute (or recompute) Cunyi's side of 3201 for the period, for every clinic in the acting
    user's reach (or `facility_ids` among them) that has settlements in it or a reconciliation of
    it already. Returns the clinics' reconciliations."""
    begin, end = check_period(begin, end)
    clinics = Facility.objects.all()
    if acting_user is not None:
        clinics = scope_facilities(clinics, acting_user)
    if facility_ids is not None:
        facility_ids = list(facility_ids)
        for facility_id in facility_ids:
            require_facility_reach(acting_user, facility_id, field=None)
        clinics = clinics.filter(pk__in=facility_ids)
    allowed = set(clinics.values_list("pk", flat=True))
    groups = platform_totals(begin=begin, end=end, facility_ids=allowed)
    existing = {r.facility_id: r for r in Reconciliation.objects.filter(
        facility_id__in=allowed, stmt_begndate=begin, stmt_enddate=end).prefetch_related("totals")}
    now = timezone.now()
    results, changes = [], {}
    for facility_id in sorted(set(groups) | set(existing)):
        rec = existing.get(facility_id)
        if rec is None:
            rec = Reconciliation.objects.create(facility_id=facility_id, stmt_begndate=begin, stmt_enddate=end,
                                                month=month_start(begin), run_at=now, run_by=acting_user)
            lines = {}
        else:
            lines = {(t.insutype, t.clr_type, t.setl_optins): t for t in rec.totals.all()}
        cleared = []
        wanted = groups.get(facility_id, {})
        for key, figures in wanted.items():
            line = lines.pop(key, None)
            if line is None:
                ReconciliationTotal.objects.create(reconciliation=rec, insutype=key[0], clr_type=key[1],
                                                   setl_optins=key[2], refd_setl_flag="0", **figures)
            elif any(getattr(line, name) != figures[name] for name in FIGURES):
                if line.stmt_rslt:
                    cleared.append({"line": str(line), "stmt_rslt": line.stmt_rslt, "dscr": line.stmt_rslt_dscr})
                for name, value in figures.items():
                    setattr(line, name, value)
                _clear_answer(line)
                line.save()
        for line in lines.values():  # a group with no settlement left in the period
            if line.stmt_rslt:
                cleared.append({"line": str(line), "stmt_rslt": line.stmt_rslt, "dscr": line.stmt_rslt_dscr})
            line.delete()
        rec.our_count = sum(f["fixmedins_setl_cnt"] for f in wanted.values())
        rec.our_medfee = sum((f["medfee_sumamt"] for f in wanted.values()), ZERO)
        rec.our_fund = sum((f["fund_pay_sumamt"] for f in wanted.values()), ZERO)
        rec.run_at, rec.run_by = now, acting_user
        rec.balanced = derive_balanced(rec)
        rec.save()
        if cleared:
            changes[rec.pk] = cleared
        results.append(rec)
    audit_bulk(actor=acting_user, action="settlement.reconciliation_compute", targets=results,
               changes={"period": f"{begin}..{end}"})
    for rec in results:
        if rec.pk in changes:
            audit_record(actor=acting_user, action="settlement.reconciliation_answers_cleared", target=rec,
                         changes={"cleared": changes[rec.pk]},
                         reason=_("Cunyi's figures changed since the platform answered."))
    return results


def input_fields(line: ReconciliationTotal) -> dict:
    """The line as the platform's 3201 input `data`."""
    rec = line.reconciliation
    return {
        "insutype": line.insutype, "clr_type": line.clr_type, "setl_optins": line.setl_optins,
        "stmt_begndate": f"{rec.stmt_begndate:%Y-%m-%d}", "stmt_enddate": f"{rec.stmt_enddate:%Y-%m-%d}",
        "medfee_sumamt": f"{line.medfee_sumamt:.2f}", "fund_pay_sumamt": f"{line.fund_pay_sumamt:.2f}",
        "acct_pay": f"{line.acct_pay:.2f}", "fixmedins_setl_cnt": line.fixmedins_setl_cnt,
        "refd_setl_flag": line.refd_setl_flag,
    }


# --- 3201: the platform's answer -----------------------------------------------------------------


def _check_answer(stmt_rslt, stmt_rslt_dscr) -> tuple[str, str]:
    code = clean_cell(str(stmt_rslt if stmt_rslt is not None else ""))
    if code not in StmtResult.values:
        raise ValidationError(_("stmt_rslt “%(value)s” is not one of the platform's results 0, 1, 2 or 3.")
                              % {"value": code}, code="bad_stmt_rslt")
    text = clean_cell(str(stmt_rslt_dscr if stmt_rslt_dscr is not None else ""))
    if len(text) > 200:
        raise ValidationError(_("stmt_rslt_dscr is longer than the platform's 200 characters."), code="bad_stmt_rslt")
    return code, text


def _store_answer(line, code, text, acting_user, source) -> dict:
    before = {"stmt_rslt": line.stmt_rslt, "stmt_rslt_dscr": line.stmt_rslt_dscr}
    line.stmt_rslt, line.stmt_rslt_dscr = code, text
    line.answered_at, line.answered_by, line.answer_source = timezone.now(), acting_user, source
    line.save(update_fields=["stmt_rslt", "stmt_rslt_dscr", "answered_at", "answered_by", "answer_source"])
    return before


def _refresh_balanced(rec: Reconciliation) -> None:
    balanced = derive_balanced(rec)
    if balanced != rec.balanced:
        rec.balanced = balanced
        rec.save(update_fields=["balanced"])


@transaction.atomic
def answer_record(*, line: ReconciliationTotal, stmt_rslt, stmt_rslt_dscr="", acting_user=None,
                  source=ReconciliationTotal.AnswerSource.ENTERED) -> ReconciliationTotal:
    """Record the platform's answer to one 3201 line (entered by the clerk)."""
    line = ReconciliationTotal.objects.select_for_update().select_related("reconciliation__facility").get(pk=line.pk)
    require_facility_reach(acting_user, line.reconciliation.facility, field=None)
    code, text = _check_answer(stmt_rslt, stmt_rslt_dscr)
    before = _store_answer(line, code, text, acting_user, source)
    _refresh_balanced(line.reconciliation)
    audit_record(actor=acting_user, action="settlement.reconciliation_answer", target=line.reconciliation,
                 changes={"line": str(line), "stmt_rslt": [before["stmt_rslt"], code],
                          "stmt_rslt_dscr": [before["stmt_rslt_dscr"], text], "source": source})
    return line


def _lookup(item: dict, name: str):
    """A field of one answer: the item itself, then its 3201 input (`input`/`data`), then its
    `stmtinfo` (top level or under `output`)."""
    places = [item]
    for key in ("input", "data"):
        if isinstance(item.get(key), dict):
            places.append(item[key])
    info = item.get("stmtinfo")
    if info is None and isinstance(item.get("output"), dict):
        info = item["output"].get("stmtinfo")
    if isinstance(info, list) and len(info) == 1:
        info = info[0]
    if isinstance(info, dict):
        places.append(info)
    for place in places:
        if name in place and place[name] is not None:
            return place[name]
    return None


def _answer_items(data: bytes, filename: str) -> list[tuple[int, dict]]:
    try:
        enforce_upload_limits(data, filename)
    except TableError as exc:
        raise ValidationError(str(exc), code="upload_limit") from exc
    name = (filename or "").lower()
    if name.endswith(".json") or data.lstrip()[:1] in (b"[", b"{"):
        try:
            parsed = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ValidationError(_("The answers file is not valid JSON (UTF-8)."), code="unreadable_file") from None
        if isinstance(parsed, dict):
            parsed = parsed.get("answers", [parsed])
        if not isinstance(parsed, list) or not all(isinstance(i, dict) for i in parsed):
            raise ValidationError(_("The answers file must hold a list of 3201 answers (objects)."),
                                  code="unreadable_file")
        if len(parsed) > upload_limit("UPLOAD_MAX_ROWS"):
            raise ValidationError(_("The answers file holds too many answers."), code="upload_limit")
        return list(enumerate(parsed, start=1))
    try:
        return [(row.number, row.values) for row in read_table(data, filename, ANSWER_COLUMNS)[1]]
    except TableError as exc:
        raise ValidationError(str(exc), code="unreadable_file") from exc


@transaction.atomic
def answers_import(*, data: bytes, filename: str, begin=None, end=None, acting_user=None) -> list[ReconciliationTotal]:
    """Record the platform's 3201 answers from a file: a JSON list (each answer names the clinic —
    `fixmedins_code`, its division or platform code — insutype, clr_type, setl_optins, the period
    unless given here, and `stmtinfo` or stmt_rslt/stmt_rslt_dscr), or CSV/XLSX with the columns
    fixmedins_code, insutype, clr_type, setl_optins, stmt_rslt, stmt_rslt_dscr[, stmt_begndate,
    stmt_enddate]. Every answer must name a line Cunyi computed; any bad answer refuses the file."""
    errors, found = [], []
    for number, item in _answer_items(data, filename):
        def text(name, item=item):
            value = _lookup(item, name)
            return clean_cell(str(value)) if value is not None else ""

        try:
            clinic = find_clinic(text("fixmedins_code"))
            if clinic is None:
                raise ValidationError(_("unknown clinic code “%(code)s”.") % {"code": text("fixmedins_code")})
            require_facility_reach(acting_user, clinic, field=None)
            first = parse_date_text(text("stmt_begndate"), what="stmt_begndate") if text("stmt_begndate") else begin
            last = parse_date_text(text("stmt_enddate"), what="stmt_enddate") if text("stmt_enddate") else end
            if first is None or last is None:
                raise ValidationError(_("the period is not given (stmt_begndate, stmt_enddate)."))
            code, dscr = _check_answer(_lookup(item, "stmt_rslt"), _lookup(item, "stmt_rslt_dscr"))
            line = (ReconciliationTotal.objects.select_for_update().select_related("reconciliation")
                    .filter(reconciliation__facility=clinic, reconciliation__stmt_begndate=first,
                            reconciliation__stmt_enddate=last, insutype=text("insutype"), clr_type=text("clr_type"),
                            setl_optins=text("setl_optins")).first())
            if line is None:
                raise ValidationError(
                    _("Cunyi has no 3201 line for %(clinic)s %(insutype)s/%(clr_type)s/%(optins)s in %(begin)s..%(end)s: "
                      "compute the period first, and check the codes.")
                    % {"clinic": clinic.code, "insutype": text("insutype"), "clr_type": text("clr_type"),
                       "optins": text("setl_optins") or "—", "begin": first, "end": last})
        except ValidationError as exc:
            errors.append(_row_error(number, "；".join(exc.messages)))
            continue
        found.append((line, code, dscr))
    if errors:
        _refuse(errors, code="bad_answers")
    lines = []
    for line, code, dscr in found:
        before = _store_answer(line, code, dscr, acting_user, ReconciliationTotal.AnswerSource.IMPORTED)
        _refresh_balanced(line.reconciliation)
        audit_record(actor=acting_user, action="settlement.reconciliation_answer", target=line.reconciliation,
                     changes={"line": str(line), "stmt_rslt": [before["stmt_rslt"], code],
                              "stmt_rslt_dscr": [before["stmt_rslt_dscr"], dscr], "source": "imported",
                              "file": filename[:200]})
        lines.append(line)
    return lines


# --- 3202: the upload file -------------------------------------------------------------------------


@dataclass
class DetailSummary:
    """The 3202 input totals of a file (reversals netted, as in 3201) and its rows."""

    rows: int = 0
    reversals: int = 0
    medfee_sumamt: Decimal = ZERO
    fund_pay_sumamt: Decimal = ZERO
    cash_payamt: Decimal = ZERO
    fixmedins_setl_cnt: int = 0
    groups: dict = field(default_factory=dict)  # (clinic code, setl_optins, clr_type) -> DetailSummary

    def add(self, medfee, fund, cash, reversal):
        self.rows += 1
        self.reversals += reversal
        self.medfee_sumamt += medfee
        self.fund_pay_sumamt += fund
        self.cash_payamt += cash
        self.fixmedins_setl_cnt += -1 if reversal else 1


def detail_rows(*, begin, end, facility_ids=None, setl_optins=None, clr_type=None, insutype=None):
    """The settlements of the 3202 file, oldest first."""
    records = period_records(begin, end, facility_ids)
    if setl_optins:
        records = records.filter(clr_optins=setl_optins)
    if clr_type:
        records = records.filter(clr_type=clr_type)
    if insutype:
        records = records.filter(insutype=insutype)
    return (records.order_by("settled_at", "setl_id")
            .values_list("setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay",
                         "psn_cash_pay", "init_setl_id", "facility__code", "clr_optins", "clr_type"))


def _signed_amount(value, reversal: bool) -> Decimal:
    amount = Decimal(str(value)).quantize(CENT)
    return -abs(amount) if reversal else amount


def detail_file(rows) -> tuple[bytes, DetailSummary]:
    """The 3202 upload file (bytes, UTF-8) and its totals."""
    summary, lines = DetailSummary(), []
    for setl_id, mdtrt_id, psn_no, medfee, fund, acct, cash, init_setl_id, clinic, optins, clr_type in rows:
        reversal = bool(init_setl_id)
        codes = [setl_id, mdtrt_id, psn_no]
        if any(not c or any(ch in c for ch in "\t\r\n") for c in codes):
            raise ValidationError(_("Settlement %(setl_id)s has a code the platform's file cannot hold (empty, or "
                                    "with a tab or line break).") % {"setl_id": setl_id}, code="bad_code")
        amounts = [_signed_amount(a, reversal) for a in (medfee, fund, acct)]
        lines.append("\t".join([*codes, *(f"{a:.2f}" for a in amounts), "1" if reversal else "0"]))
        cash_signed = _signed_amount(cash, reversal)
        summary.add(amounts[0], amounts[1], cash_signed, reversal)
        group = summary.groups.setdefault((clinic, optins or "", clr_type), DetailSummary())
        group.add(amounts[0], amounts[1], cash_signed, reversal)
    return "\n".join(lines).encode("utf-8"), summary


def detail_zip(content: bytes, inner_name: str) -> bytes:
    """The 9101 container: a .zip holding the .txt."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(inner_name, content)
    return buffer.getvalue()


# --- 3202: the platform's result -------------------------------------------------------------------


@dataclass
class ResultRow:
    number: int
    psn_no: str
    mdtrt_id: str
    setl_id: str
    msgid: str
    stmt_rslt: str
    refd_setl_flag: str
    memo: str
    amounts: dict  # name -> Decimal | None (the centre's side)


def _unzip_result(data: bytes) -> bytes:
    limit = upload_limit("UPLOAD_MAX_BYTES")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > ZIP_MAX_MEMBERS:
                raise ValidationError(_("The zip file holds too many files; the platform's result holds one."),
                                      code="unreadable_file")
            texts = [m for m in members if m.filename.lower().endswith(".txt")]
            chosen = [m for m in texts if m.filename.rsplit("/", 1)[-1].lower() == "result.txt"] or texts
            if len(chosen) != 1:
                raise ValidationError(_("The zip file must hold the platform's result.txt."), code="unreadable_file")
            member = chosen[0]
            if member.file_size > limit:
                raise ValidationError(_("result.txt in the zip file is larger than an upload may be."),
                                      code="upload_limit")
            with archive.open(member) as stream:
                content = stream.read(limit + 1)
            if len(content) > limit:
                raise ValidationError(_("result.txt in the zip file is larger than an upload may be."),
                                      code="upload_limit")
            return content
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise ValidationError(_("The zip file cannot be read.")) from exc


def decode_result(content: bytes) -> tuple[str, str]:
    """UTF-8 (a BOM dropped), or GB18030 when the bytes are not valid UTF-8."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise ValidationError(_("The result file is neither UTF-8 nor GB18030 text."), code="unreadable_file") from None


def parse_result(data: bytes, filename: str) -> tuple[list[ResultRow], str]:
    """The platform's 3202 result, checked row by row; any bad row refuses the whole file."""
    try:
        enforce_upload_limits(data, filename)
    except TableError as exc:
        raise ValidationError(str(exc), code="upload_limit") from exc
    if data[:4] == b"PK\x03\x04" or (filename or "").lower().endswith(".zip"):
        data = _unzip_result(data)
        try:
            enforce_upload_limits(data, "result.txt")
        except TableError as exc:
            raise ValidationError(str(exc), code="upload_limit") from exc
    text, encoding = decode_result(data)
    rows, errors = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(RESULT_COLUMNS):
            errors.append(_row_error(number, _("the platform's result has 10 columns separated by tabs, this row has "
                                               "%(n)s.") % {"n": len(cells)}))
            continue
        values = {}
        for name, cell in zip(RESULT_COLUMNS, cells, strict=True):
            cell = clean_cell(cell)
            values[name] = "" if cell in NULLS else cell
        problems = []
        for name in ("psn_no", "mdtrt_id", "setl_id", "msgid"):
            if len(values[name]) > 30:
                problems.append(_("%(field)s is longer than 30 characters.") % {"field": field_label(name)})
        if not (values["setl_id"] or values["mdtrt_id"]):
            problems.append(_("neither setl_id nor mdtrt_id is given: the row names no settlement."))
        if values["stmt_rslt"] not in StmtResult.values:
            problems.append(_("stmt_rslt “%(value)s” is not one of the platform's results 0, 1, 2 or 3.")
                            % {"value": values["stmt_rslt"][:20]})
        flag = values["refd_setl_flag"]
        if flag and not FLAG_RE.match(flag):
            problems.append(_("refd_setl_flag “%(value)s” is neither 0 nor 1.") % {"value": flag[:20]})
        amounts = {}
        for name in AMOUNTS:
            value = values[name]
            if value and not RESULT_AMOUNT_RE.match(value):
                problems.append(_("%(field)s “%(value)s” is not an amount.") % {"field": field_label(name), "value": value[:30]})
                continue
            amounts[name] = Decimal(value) if value else None
        if problems:
            errors.append(_row_error(number, " ".join(problems)))
            continue
        rows.append(ResultRow(number=number, psn_no=values["psn_no"], mdtrt_id=values["mdtrt_id"],
                              setl_id=values["setl_id"], msgid=values["msgid"], stmt_rslt=values["stmt_rslt"],
                              refd_setl_flag=flag[-1:] if flag else "", memo=values["memo"][:500], amounts=amounts))
    if errors:
        _refuse(errors, code="bad_result")
    return rows, encoding


@dataclass
class Ours:
    setl_id: str
    mdtrt_id: str
    psn_no: str
    reversal: bool
    init_setl_id: str
    facility_id: int
    insutype: str
    clr_type: str
    optins: str
    settled_at: datetime.datetime
    amounts: dict


OUR_FIELDS = ("setl_id", "mdtrt_id", "psn_no", "init_setl_id", "facility_id", "insutype", "clr_type", "clr_optins",
              "settled_at", *AMOUNTS)


def _ours(values: dict) -> Ours:
    reversal = bool(values["init_setl_id"])
    return Ours(setl_id=values["setl_id"], mdtrt_id=values["mdtrt_id"], psn_no=values["psn_no"], reversal=reversal,
                init_setl_id=values["init_setl_id"], facility_id=values["facility_id"], insutype=values["insutype"],
                clr_type=values["clr_type"], optins=values["clr_optins"] or "", settled_at=values["settled_at"],
                amounts={n: _signed_amount(values[n], reversal) for n in AMOUNTS})


def _centre_amounts(row: ResultRow, reversal: bool) -> dict:
    """The centre's amounts in the file's convention: a refund row's amounts negative."""
    return {n: (-abs(v) if reversal and v is not None else v) for n, v in row.amounts.items()}


def _classify(row: ResultRow, our: Ours | None, elsewhere: Ours | None) -> tuple[str, dict]:
    Status = ReconciliationItem.Status
    if our is None:
        return (Status.OTHER_SCOPE, _centre_amounts(row, row.refd_setl_flag == "1")) if elsewhere else (
            Status.MISSING_HERE, _centre_amounts(row, row.refd_setl_flag == "1"))
    centre = _centre_amounts(row, our.reversal)
    differ = any(centre[n] is not None and centre[n] != our.amounts[n] for n in AMOUNTS)
    if differ:
        return Status.AMOUNTS_DIFFER, centre
    if row.stmt_rslt == StmtResult.BALANCED:
        return Status.MATCHED, centre
    if row.stmt_rslt == StmtResult.INSTITUTION_MORE:
        return Status.MISSING_AT_BUREAU, centre
    return Status.UNEXPLAINED, centre


def _pick(candidates: list[Ours], flag: str) -> Ours | None:
    if not candidates:
        return None
    wanted = flag == "1"
    return next((c for c in candidates if c.reversal == wanted), candidates[0])


def result_scope(*, data: bytes, filename: str, acting_user=None,
                 facility: Facility | None = None) -> tuple[Facility, datetime.date, datetime.date]:
    """The clinic and month a 3202 result file answers, read from the file itself (the platform's
    result names neither): the clinic that holds most of the rows' settlements in Cunyi's log
    (by setl_id), strictly more than any other — a row booked under another clinic is a minority
    —, and the month holding most of that clinic's (of `facility`'s, when given). Refused in Chinese when the file names no
    recorded settlement, when two clinics tie or when the clinic is out of the user's reach."""
    rows, _encoding = parse_result(data, filename)
    places = list(records_by_setl_id({r.setl_id for r in rows if r.setl_id}).values_list("facility_id", "settled_at"))
    clinics: dict[int, int] = defaultdict(int)
    for facility_id, _at in places:
        clinics[facility_id] += 1
    ranked = sorted(clinics.items(), key=lambda item: -item[1])
    if facility is not None:
        ranked = [(facility.pk, clinics[facility.pk])] if clinics.get(facility.pk) else []
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        raise ValidationError(_("The result file does not tell which clinic it answers (its rows name no settlement "
                                "Cunyi recorded, or as many of two clinics); give --clinic and --month."),
                              code="result_scope")
    facility = Facility.objects.get(pk=ranked[0][0])
    require_facility_reach(acting_user, facility, field=None)
    months: dict[datetime.date, int] = defaultdict(int)
    for facility_id, at in places:
        if facility_id == facility.pk:
            months[month_start(timezone.localtime(at).date())] += 1
    month = max(sorted(months), key=lambda m: months[m])
    return facility, *month_period(month)


@dataclass
class ResultReport:
    reconciliation: Reconciliation
    items: list
    encoding: str
    not_in_result: int  # Cunyi's settlements of the scope the result does not mention


@transaction.atomic
def result_import(*, data: bytes, filename: str, facility: Facility, begin, end, acting_user=None, setl_optins="",
                  clr_type="", insutype="") -> ResultReport:
    """Import the platform's 3202 result for one clinic and period (optionally one clearing agency,
    clearing type and insurance type — the 3202 call's scope), classify every row and replace the
    reconciliation's earlier result."""
    require_facility_reach(acting_user, facility, field=None)
    begin, end = check_period(begin, end)
    rows, encoding = parse_result(data, filename)
    rec = Reconciliation.objects.filter(facility=facility, stmt_begndate=begin, stmt_enddate=end).first()
    if rec is None:
        (rec,) = reconciliation_compute(begin=begin, end=end, acting_user=acting_user,
                                        facility_ids=[facility.pk]) or [None]
        if rec is None:
            rec = Reconciliation.objects.create(facility=facility, stmt_begndate=begin, stmt_enddate=end,
                                                month=month_start(begin), run_by=acting_user)
    rec = Reconciliation.objects.select_for_update().get(pk=rec.pk)

    scope = period_records(begin, end, [facility.pk])
    if setl_optins:
        scope = scope.filter(clr_optins=setl_optins)
    if clr_type:
        scope = scope.filter(clr_type=clr_type)
    if insutype:
        scope = scope.filter(insutype=insutype)
    ours = [_ours(v) for v in scope.values(*OUR_FIELDS)]
    by_setl = {o.setl_id: o for o in ours}
    reversal_of = {o.init_setl_id: o for o in ours if o.reversal}
    by_visit: dict[tuple[str, str], list[Ours]] = defaultdict(list)
    for o in ours:
        by_visit[(o.mdtrt_id, o.psn_no)].append(o)

    def in_scope(row: ResultRow) -> tuple[Ours | None, str]:
        our = by_setl.get(row.setl_id) if row.setl_id else None
        if our is not None and row.refd_setl_flag == "1" and not our.reversal and our.setl_id in reversal_of:
            our = reversal_of[our.setl_id]  # the platform named the original with the refund flag
        if our is not None:
            return our, ""
        candidates = by_visit.get((row.mdtrt_id, row.psn_no), []) if row.mdtrt_id else []
        if not candidates and row.mdtrt_id and not row.psn_no:
            candidates = [o for (m, _p), group in by_visit.items() if m == row.mdtrt_id for o in group]
        our = _pick(candidates, row.refd_setl_flag)
        return our, (our.setl_id if our is not None and our.setl_id != row.setl_id else "")

    found = {row.number: in_scope(row) for row in rows}
    # Not in scope: the setl_id in the whole log (through the key table), else the visit in the period.
    lost = [row for row in rows if found[row.number][0] is None]
    elsewhere_by_setl = {v["setl_id"]: _ours(v) for v in records_by_setl_id(
        [r.setl_id for r in lost if r.setl_id]).values(*OUR_FIELDS)} if lost else {}
    visits = [r.mdtrt_id for r in lost if r.mdtrt_id and r.setl_id not in elsewhere_by_setl]
    elsewhere_by_visit: dict[str, list[Ours]] = defaultdict(list)
    if visits:
        for v in period_records(begin, end).filter(mdtrt_id__in=visits).values(*OUR_FIELDS):
            elsewhere_by_visit[v["mdtrt_id"]].append(_ours(v))

    items, counts = [], defaultdict(int)
    for row in rows:
        our, our_setl_id = found[row.number]
        elsewhere = None
        if our is None:
            elsewhere = elsewhere_by_setl.get(row.setl_id) or _pick(
                [o for o in elsewhere_by_visit.get(row.mdtrt_id, []) if not row.psn_no or o.psn_no == row.psn_no],
                row.refd_setl_flag)
        status, centre = _classify(row, our, elsewhere)
        counts[status] += 1
        booked = elsewhere if status == ReconciliationItem.Status.OTHER_SCOPE else None
        items.append(ReconciliationItem(
            reconciliation=rec, row_number=row.number, setl_id=row.setl_id, mdtrt_id=row.mdtrt_id,
            psn_no=row.psn_no, msgid=row.msgid, stmt_rslt=row.stmt_rslt, refd_setl_flag=row.refd_setl_flag,
            memo=row.memo, status=status, our_setl_id=our_setl_id or (booked.setl_id if booked and
                                                                      booked.setl_id != row.setl_id else ""),
            our_medfee=our.amounts["medfee_sumamt"] if our else None, bureau_medfee=centre["medfee_sumamt"],
            our_fund=our.amounts["fund_pay_sumamt"] if our else None, bureau_fund=centre["fund_pay_sumamt"],
            our_acct=our.amounts["acct_pay"] if our else None, bureau_acct=centre["acct_pay"],
            booked_facility_id=booked.facility_id if booked else None,
            booked_insutype=booked.insutype if booked else "", booked_clr_type=booked.clr_type if booked else "",
            booked_optins=booked.optins if booked else "", booked_at=booked.settled_at if booked else None,
        ))
    mentioned = {found[r.number][0].setl_id for r in rows if found[r.number][0] is not None}
    rec.items.all().delete()
    ReconciliationItem.objects.bulk_create(items, batch_size=2000)
    Status = ReconciliationItem.Status
    rec.matched, rec.missing_here = counts[Status.MATCHED], counts[Status.MISSING_HERE]
    rec.missing_at_bureau, rec.amounts_differ = counts[Status.MISSING_AT_BUREAU], counts[Status.AMOUNTS_DIFFER]
    rec.other_scope, rec.unexplained = counts[Status.OTHER_SCOPE], counts[Status.UNEXPLAINED]
    rec.result_filename, rec.result_imported_at, rec.result_imported_by = filename[:200], timezone.now(), acting_user
    rec.result_setl_optins, rec.result_clr_type, rec.result_insutype = setl_optins, clr_type, insutype
    rec.save()
    audit_record(actor=acting_user, action="settlement.reconciliation_result", target=rec,
                 changes={"file": filename[:200], "encoding": encoding, "rows": len(items),
                          **{str(k): v for k, v in counts.items()}})
    return ResultReport(reconciliation=rec, items=items, encoding=encoding,
                        not_in_result=sum(1 for o in ours if o.setl_id not in mentioned))
