"""Reconciliation with the insurance bureau (对账).

The bureau's monthly statement comes as a totals file (like interface 3201) and, optionally, a
detail file (like 3202):

- totals: `fixmedins_code, insutype, clr_type, setl_cnt, medfee_sumamt, fund_pay_sumamt,
  acct_pay` — net of refunds: a refund counts -1 and its amounts count negatively;
- details: `setl_id, fixmedins_code, insutype, clr_type, medfee_sumamt, fund_pay_sumamt,
  acct_pay` and optionally `refd_setl_flag` (1 = refund line; its amounts may be written
  positive or negative, they are stored negative).

Each clinic's month is balanced when every insurance type × clearing type line agrees in count
and all three sums, and (with details) every detail line matches. Running it again for a month
replaces the earlier result. The detail comparison is one FULL OUTER JOIN in SQL on both
databases; on PostgreSQL the detail file is loaded with COPY. The exports read through
`selectors.reconciliation_rows` and `selectors.discrepancy_rows`.
"""

import re
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import DataError, connection, transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from clinics.models import Facility
from clinics.settlements.models import (
    BureauDetail,
    BureauStatement,
    BureauTotal,
    ClearingType,
    InsuranceType,
    Reconciliation,
    ReconciliationItem,
    ReconciliationTotal,
    SettlementMonthStat,
)
from clinics.settlements.partitions import month_start
from clinics.settlements.selectors import _signed, records_in_month
from clinics.settlements.services.imports import raw_csv, unix_line_ends
from core.audit import audit_bulk, audit_record
from core.tabular import TableError, read_table

TOTAL_COLUMNS = ["fixmedins_code", "insutype", "clr_type", "setl_cnt", "medfee_sumamt", "fund_pay_sumamt", "acct_pay"]
DETAIL_COLUMNS = ["setl_id", "fixmedins_code", "insutype", "clr_type", "medfee_sumamt", "fund_pay_sumamt", "acct_pay"]
SIGNED_AMOUNT_RE = re.compile(r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$")
COUNT_RE = re.compile(r"^-?[0-9]{1,9}$")
MAX_ERRORS_SHOWN = 20
ZERO = Decimal("0.00")


def _refuse(errors: list[str]) -> None:
    shown = errors[:MAX_ERRORS_SHOWN]
    more = len(errors) - len(shown)
    if more:
        shown.append(_("…and %(n)s more rows with errors.") % {"n": more})
    raise ValidationError(shown, code="bad_statement")


def _read(data: bytes, filename: str, columns: list[str]):
    try:
        # Read every row here: a row that cannot be read (a stray quote, past the row limit) raises
        # while iterating, and must become the same clear refusal as a bad header.
        return list(read_table(data, filename, columns)[1])
    except TableError as exc:
        raise ValidationError(str(exc), code="unreadable_file") from exc


def _row_error(number: int, message: str) -> str:
    return _("Row %(row)s: %(message)s") % {"row": number, "message": message}


def _check_common(values: dict, clinics: dict) -> tuple[str, int | None]:
    if values["fixmedins_code"] not in clinics:
        return _("unknown clinic code “%(code)s”.") % {"code": values["fixmedins_code"]}, None
    if values["insutype"] not in InsuranceType.values:
        return _("insutype must be 390 or 310."), None
    if values["clr_type"] not in ClearingType.values:
        return _("clr_type must be 11 or 14."), None
    for name in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay"):
        if not SIGNED_AMOUNT_RE.match(values[name]):
            return _("%(field)s “%(value)s” is not an amount.") % {"field": name, "value": values[name]}, None
    return "", clinics[values["fixmedins_code"]]


def _clinic_codes() -> dict[str, int]:
    return dict(Facility.objects.values_list("code", "pk"))


def _parse_totals(data: bytes, filename: str, clinics: dict) -> list[BureauTotal]:
    totals, errors, seen = [], [], set()
    for row in _read(data, filename, TOTAL_COLUMNS):
        values = row.values
        message, facility_id = _check_common(values, clinics)
        if not message and not COUNT_RE.match(values["setl_cnt"]):
            message = _("setl_cnt “%(value)s” is not a whole number.") % {"value": values["setl_cnt"]}
        key = (values["fixmedins_code"], values["insutype"], values["clr_type"])
        if not message and key in seen:
            message = _("this clinic, insutype and clr_type appear twice.")
        if message:
            errors.append(_row_error(row.number, message))
            continue
        seen.add(key)
        totals.append(
            BureauTotal(
                facility_id=facility_id, insutype=values["insutype"], clr_type=values["clr_type"],
                setl_cnt=int(values["setl_cnt"]), medfee_sumamt=Decimal(values["medfee_sumamt"]),
                fund_pay_sumamt=Decimal(values["fund_pay_sumamt"]), acct_pay=Decimal(values["acct_pay"]),
            )
        )
    if errors:
        _refuse(errors)
    return totals


def _signed_detail(values: dict) -> tuple[bool, list[Decimal]]:
    amounts = [Decimal(values[n]) for n in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")]
    refund = values.get("refd_setl_flag", "") == "1" or amounts[0] < 0
    return refund, [-abs(a) if refund else a for a in amounts]


def _load_details_python(statement: BureauStatement, data: bytes, filename: str, clinics: dict) -> int:
    details, errors = [], []
    for row in _read(data, filename, DETAIL_COLUMNS):
        values = row.values
        message, facility_id = _check_common(values, clinics)
        if not message and not values["setl_id"]:
            message = _("setl_id is empty.")
        if message:
            errors.append(_row_error(row.number, message))
            continue
        refund, (medfee, fund, acct) = _signed_detail(values)
        details.append(
            BureauDetail(
                statement=statement, facility_id=facility_id, setl_id=values["setl_id"][:30], insutype=values["insutype"],
                clr_type=values["clr_type"], medfee_sumamt=medfee, fund_pay_sumamt=fund, acct_pay=acct, is_reversal=refund,
            )
        )
    if errors:
        _refuse(errors)
    BureauDetail.objects.bulk_create(details, batch_size=2000)
    return len(details)


def _load_details_postgres(statement: BureauStatement, data: bytes, filename: str) -> int:
    """COPY the detail file into a staging table, check it in SQL, then one INSERT … SELECT."""
    import psycopg


    columns = DETAIL_COLUMNS + ["refd_setl_flag"]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bureau_detail_stage")
        cursor.execute(
            "CREATE TEMP TABLE bureau_detail_stage (row_no bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 2), "
            + ", ".join(f"{c} text" for c in columns)
            + ", extra_0 text, extra_1 text, extra_2 text, extra_3 text) ON COMMIT DROP"
        )
        copied = False
        if filename.lower().endswith((".csv", ".txt")):
            try:
                raw = raw_csv(unix_line_ends(data), required=DETAIL_COLUMNS)  # bare CRs: Excel's Mac CSV
            except TableError as exc:
                raise ValidationError(str(exc), code="unreadable_file") from exc
            names, extra = [], 0
            for column in raw.header:
                if column in columns and column not in names:
                    names.append(column)
                else:
                    names.append(f"extra_{extra}")
                    extra += 1
            if extra <= 4:
                try:
                    with transaction.atomic(), cursor.cursor.copy(
                        f"COPY bureau_detail_stage ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, ENCODING '{raw.encoding}')"
                    ) as copy:
                        copy.write(raw.body)
                    copied = True
                except (psycopg.DataError, DataError):
                    copied = False
        if not copied:
            cursor.execute("TRUNCATE bureau_detail_stage")
            with cursor.cursor.copy(f"COPY bureau_detail_stage (row_no, {', '.join(columns)}) FROM STDIN") as copy:
                for row in _read(data, filename, DETAIL_COLUMNS):
                    copy.write_row([row.number] + [row.values.get(c, "") for c in columns])
        amount = SIGNED_AMOUNT_RE.pattern
        cursor.execute(
            """SELECT s.row_no, CASE
                    WHEN f.id IS NULL THEN 'clinic'
                    WHEN coalesce(s.insutype, '') NOT IN ('390', '310') THEN 'insutype'
                    WHEN coalesce(s.clr_type, '') NOT IN ('11', '14') THEN 'clr_type'
                    WHEN coalesce(btrim(s.setl_id), '') = '' THEN 'setl_id'
                    WHEN coalesce(s.medfee_sumamt, '') !~ %(amount)s THEN 'medfee_sumamt'
                    WHEN coalesce(s.fund_pay_sumamt, '') !~ %(amount)s THEN 'fund_pay_sumamt'
                    WHEN coalesce(s.acct_pay, '') !~ %(amount)s THEN 'acct_pay' END AS problem,
                    s.fixmedins_code, s.medfee_sumamt, s.fund_pay_sumamt, s.acct_pay
              FROM bureau_detail_stage s LEFT JOIN clinics_facility f ON f.code = btrim(s.fixmedins_code)
             WHERE f.id IS NULL OR coalesce(s.insutype, '') NOT IN ('390', '310') OR coalesce(s.clr_type, '') NOT IN ('11', '14')
                OR coalesce(btrim(s.setl_id), '') = ''
                OR concat_ws('|', coalesce(s.medfee_sumamt, ''), coalesce(s.fund_pay_sumamt, ''), coalesce(s.acct_pay, ''))
                   !~ %(amounts)s
             ORDER BY s.row_no LIMIT 1000""",
            {"amount": amount, "amounts": "^(" + amount.strip("^$") + "\\|){2}" + amount.strip("^$") + "$"},
        )
        problems = cursor.fetchall()
        if problems:
            errors = []
            for number, problem, code, *amounts in problems:
                values = dict(zip(["medfee_sumamt", "fund_pay_sumamt", "acct_pay"], amounts, strict=True))
                if problem == "clinic":
                    message = _("unknown clinic code “%(code)s”.") % {"code": code}
                elif problem == "insutype":
                    message = _("insutype must be 390 or 310.")
                elif problem == "clr_type":
                    message = _("clr_type must be 11 or 14.")
                elif problem == "setl_id":
                    message = _("setl_id is empty.")
                else:
                    message = _("%(field)s “%(value)s” is not an amount.") % {"field": problem, "value": values[problem]}
                errors.append(_row_error(number, message))
            _refuse(errors)
        cursor.execute(
            """INSERT INTO settlements_bureaudetail
                   (statement_id, facility_id, setl_id, insutype, clr_type, medfee_sumamt, fund_pay_sumamt, acct_pay, is_reversal)
            SELECT %(statement)s, f.id, left(btrim(s.setl_id), 30), s.insutype, s.clr_type,
                   CASE WHEN refund THEN -abs(s.medfee_sumamt::numeric) ELSE s.medfee_sumamt::numeric END,
                   CASE WHEN refund THEN -abs(s.fund_pay_sumamt::numeric) ELSE s.fund_pay_sumamt::numeric END,
                   CASE WHEN refund THEN -abs(s.acct_pay::numeric) ELSE s.acct_pay::numeric END, refund
              FROM (SELECT *, (coalesce(refd_setl_flag, '') = '1' OR medfee_sumamt::numeric < 0) AS refund
                      FROM bureau_detail_stage) s
              JOIN clinics_facility f ON f.code = btrim(s.fixmedins_code)""",
            {"statement": statement.pk},
        )
        return cursor.rowcount


@transaction.atomic
def statement_import(
    *, month, statement_data: bytes, statement_filename: str, detail_data: bytes | None = None,
    detail_filename: str = "", acting_user=None,
) -> BureauStatement:
    """Store the bureau's statement for `month`; a file with any bad row is refused whole,
    listing the rows to fix (a statement is the bureau's figure and must be complete)."""
    clinics = _clinic_codes()
    totals = _parse_totals(statement_data, statement_filename, clinics)
    statement = BureauStatement.objects.create(
        month=month_start(month), filename=statement_filename[:200], detail_filename=detail_filename[:200],
        has_detail=detail_data is not None, imported_by=acting_user,
    )
    for total in totals:
        total.statement = statement
    BureauTotal.objects.bulk_create(totals, batch_size=2000)
    if detail_data is not None:
        if connection.vendor == "postgresql":
            _load_details_postgres(statement, detail_data, detail_filename)
        else:
            _load_details_python(statement, detail_data, detail_filename, clinics)
    audit_record(actor=acting_user, action="settlement.statement_import", target=statement,
                 changes={"month": f"{statement.month:%Y-%m}", "totals": len(totals), "detail": statement.has_detail})
    return statement


def _our_totals(month) -> dict[tuple[int, str, str], dict]:
    """Our side of the 3201 totals, net of reversals, from the monthly rollup."""
    rows = (
        SettlementMonthStat.objects.filter(month=month_start(month))
        .values("facility_id", "insutype", "clr_type")
        .annotate(count=Sum("visits"), medfee=Sum("medfee_sumamt"), fund=Sum("fund_pay_sumamt"), acct=Sum("acct_pay"))
        .order_by()
    )
    return {(r["facility_id"], r["insutype"], r["clr_type"]): r for r in rows}


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


@transaction.atomic
def reconciliation_run(*, statement: BureauStatement, acting_user=None) -> list[Reconciliation]:
    """Reconcile every clinic of the statement's month; replaces that month's earlier results."""
    month = statement.month
    Reconciliation.objects.filter(month=month).delete()
    ours = _our_totals(month)
    theirs = {(t.facility_id, t.insutype, t.clr_type): t for t in statement.totals.all()}
    by_clinic: dict[int, list] = defaultdict(list)
    for key in sorted(set(ours) | set(theirs)):
        by_clinic[key[0]].append(key)

    results, lines = [], []
    for facility_id, keys in by_clinic.items():
        result = Reconciliation(month=month, facility_id=facility_id, statement=statement, balanced=True,
                                run_by=acting_user)
        result.lines = []
        for key in keys:
            our, their = ours.get(key, {}), theirs.get(key)
            line = ReconciliationTotal(
                insutype=key[1], clr_type=key[2],
                our_count=our.get("count", 0), bureau_count=their.setl_cnt if their else 0,
                our_medfee=_money(our.get("medfee")), bureau_medfee=_money(their.medfee_sumamt if their else 0),
                our_fund=_money(our.get("fund")), bureau_fund=_money(their.fund_pay_sumamt if their else 0),
                our_acct=_money(our.get("acct")), bureau_acct=_money(their.acct_pay if their else 0),
                balanced=False,
            )
            line.balanced = (line.our_count, line.our_medfee, line.our_fund, line.our_acct) == (
                line.bureau_count, line.bureau_medfee, line.bureau_fund, line.bureau_acct
            )
            result.balanced &= line.balanced
            result.our_count += line.our_count
            result.bureau_count += line.bureau_count
            result.our_medfee += line.our_medfee
            result.bureau_medfee += line.bureau_medfee
            result.our_fund += line.our_fund
            result.bureau_fund += line.bureau_fund
            result.lines.append(line)
        results.append(result)
    Reconciliation.objects.bulk_create(results, batch_size=1000)
    for result in results:
        for line in result.lines:
            line.reconciliation_id = result.pk
            lines.append(line)
    ReconciliationTotal.objects.bulk_create(lines, batch_size=2000)

    if statement.has_detail:
        counts = _compare_details(statement)
        Status = ReconciliationItem.Status
        for result in results:
            found = counts.get(result.facility_id, {})
            result.matched = found.get(Status.MATCHED, 0)
            result.missing_here = found.get(Status.MISSING_HERE, 0)
            result.missing_at_bureau = found.get(Status.MISSING_AT_BUREAU, 0)
            result.amounts_differ = found.get(Status.AMOUNTS_DIFFER, 0)
            result.balanced = result.balanced and not (result.missing_here or result.missing_at_bureau or result.amounts_differ)
        Reconciliation.objects.bulk_update(
            results, ["matched", "missing_here", "missing_at_bureau", "amounts_differ", "balanced"], batch_size=1000
        )
    audit_bulk(actor=acting_user, action="settlement.reconciliation", targets=results,
               changes={"statement": statement.pk, "month": f"{month:%Y-%m}"})
    audit_record(
        actor=acting_user, action="settlement.reconcile", target=statement,
        changes={"month": f"{month:%Y-%m}", "clinics": len(results), "balanced": sum(r.balanced for r in results)},
    )
    return results


def _compare_details(statement: BureauStatement) -> dict[int, dict[str, int]]:
    """A FULL OUTER JOIN of the month's log and the bureau's lines on setl_id: counts per clinic
    and status, and one stored item per line that did not match (matched lines are counted, not
    stored: at a million lines a month they would double the log). On PostgreSQL the join runs
    once (a data-modifying CTE); SQLite runs it twice."""
    ours_sql, ours_params = (
        records_in_month(statement.month)
        .annotate(
            s_medfee=_signed(F("medfee_sumamt")),
            s_fund=_signed(F("fund_pay_sumamt")),
            s_acct=_signed(F("acct_pay")),
        )
        .values("setl_id", "facility_id", "s_medfee", "s_fund", "s_acct")
        .order_by()
        .query.sql_with_params()
    )
    Status = ReconciliationItem.Status
    compared = f"""
        SELECT coalesce(o.facility_id, b.facility_id) AS facility_id, coalesce(o.setl_id, b.setl_id) AS setl_id,
               CASE WHEN b.setl_id IS NULL THEN %s
                    WHEN o.setl_id IS NULL THEN %s
                    WHEN o.s_medfee = b.medfee_sumamt AND o.s_fund = b.fund_pay_sumamt AND o.s_acct = b.acct_pay THEN %s
                    ELSE %s END AS status,
               o.s_medfee AS our_medfee, b.medfee_sumamt AS bureau_medfee, o.s_fund AS our_fund,
               b.fund_pay_sumamt AS bureau_fund
          FROM ({ours_sql}) o
          FULL OUTER JOIN (SELECT setl_id, facility_id, medfee_sumamt, fund_pay_sumamt, acct_pay
                             FROM settlements_bureaudetail WHERE statement_id = %s) b ON b.setl_id = o.setl_id"""
    compared_params = [Status.MISSING_AT_BUREAU, Status.MISSING_HERE, Status.MATCHED, Status.AMOUNTS_DIFFER,
                       *ours_params, statement.pk]
    insert = """
        INSERT INTO settlements_reconciliationitem
            (reconciliation_id, setl_id, status, our_medfee, bureau_medfee, our_fund, bureau_fund)
        SELECT r.id, c.setl_id, c.status, c.our_medfee, c.bureau_medfee, c.our_fund, c.bureau_fund
          FROM {source} c JOIN settlements_reconciliation r ON r.facility_id = c.facility_id AND r.month = %s
         WHERE c.status <> %s"""
    month = connection.ops.adapt_datefield_value(statement.month)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(
                f"WITH compared AS MATERIALIZED ({compared}), stored AS ({insert.format(source='compared')} RETURNING 1) "
                "SELECT facility_id, status, count(*) FROM compared GROUP BY 1, 2",
                [*compared_params, month, Status.MATCHED],
            )
        else:
            cursor.execute(insert.format(source=f"({compared})"), [*compared_params, month, Status.MATCHED])
            cursor.execute(f"SELECT facility_id, status, count(*) FROM ({compared}) c GROUP BY 1, 2", compared_params)
        for facility_id, status, n in cursor.fetchall():
            counts[facility_id][status] = n
    return counts
