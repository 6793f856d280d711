"""Reads of the settlement log. `outpatient_visits` is the contract payroll codes against
(docs/DEVELOPING.md); the others are scoped by the acting user's reach."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Township
from clinics.scoping import scope_queryset
from clinics.settlements.models import (
    AMOUNT_FIELDS,
    ActivityAnomaly,
    ClearingType,
    Reconciliation,
    ReconciliationItem,
    SettlementImport,
    SettlementKey,
    SettlementMonthStat,
    SettlementRecord,
)
from clinics.settlements.partitions import add_months, month_start

CENT = Decimal("0.01")


@dataclass
class VisitCount:
    """Insured outpatient visits of one clinic in one month, net of reversals."""

    total: int = 0
    by_practitioner: dict[str, int] = field(default_factory=dict)  # insurance practitioner code -> visits
    unnamed: int = 0  # visits whose settlement named no practitioner


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The month as an aware [start, end) range in the project's time zone (Asia/Shanghai)."""
    first = month_start(month)
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min), tz)
    end = timezone.make_aware(datetime.datetime.combine(add_months(first, 1), datetime.time.min), tz)
    return start, end


def period_bounds(begin: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """Beijing dates begin..end (both included) as an aware [start, stop) range."""
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.datetime.combine(begin, datetime.time.min), tz)
    stop = timezone.make_aware(datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min), tz)
    return start, stop


def _signed(expression):
    """+1 for a settlement, -1 for a reversal, applied to a count or an amount."""
    return Case(When(init_setl_id="", then=expression), default=-expression)


def records_in_month(month: datetime.date) -> QuerySet:
    start, end = month_bounds(month)
    return SettlementRecord.objects.filter(settled_at__gte=start, settled_at__lt=end)


def outpatient_visits(*, month: datetime.date, facility_ids=None) -> dict[int, VisitCount]:
    """Insured outpatient visits (clr_type 11 门诊) per clinic in `month` (any day of it), net of
    reversals: a reversal counts -1 in the month it was recorded, like the bureau's statement.
    Chronic and special-disease visits (med_type 14 门诊慢特病: the old clr_type 14, migration 0013)
    are not counted, as before. Clinics asked for by `facility_ids` appear even with no visits."""
    queryset = (records_in_month(month).filter(clr_type=ClearingType.OUTPATIENT)
                .exclude(med_type__isnull=False, med_type="14"))
    result: dict[int, VisitCount] = {}
    if facility_ids is not None:
        facility_ids = list(facility_ids)
        queryset = queryset.filter(facility_id__in=facility_ids)
        result = {facility_id: VisitCount() for facility_id in facility_ids}
    rows = (
        queryset.values("facility_id", "atddr_no")
        .annotate(visits=Sum(_signed(Value(1)), output_field=IntegerField()))
        .order_by()
    )
    for row in rows:
        count = result.setdefault(row["facility_id"], VisitCount())
        count.total += row["visits"]
        if row["atddr_no"]:
            count.by_practitioner[row["atddr_no"]] = count.by_practitioner.get(row["atddr_no"], 0) + row["visits"]
        else:
            count.unnamed += row["visits"]
    return result


def _summary_annotations() -> dict:
    money = SettlementRecord._meta.get_field("medfee_sumamt")
    sums = {name: Coalesce(Sum(_signed(F(name))), Value(0), output_field=money) for name in AMOUNT_FIELDS}
    return {
        "visits": Coalesce(Sum(_signed(Value(1)), output_field=IntegerField()), Value(0)),
        "reversals": Count("id", filter=~Q(init_setl_id="")),
        **sums,
    }


def _money_rows(rows) -> list[dict]:
    """Sums as Decimal with two places on every database (SQLite returns plain numbers)."""
    rows = list(rows)
    for row in rows:
        for name in AMOUNT_FIELDS:
            row[name] = Decimal(str(row[name] or 0)).quantize(CENT, rounding=ROUND_HALF_UP)
    return rows


def settlement_list(*, user) -> QuerySet:
    return scope_queryset(SettlementRecord.objects.select_related("facility"), user)


def _stat_sums() -> dict:
    return {
        "visits": Coalesce(Sum("visits"), Value(0)),
        "reversals": Coalesce(Sum("reversals"), Value(0)),
        **{name: Sum(name) for name in AMOUNT_FIELDS},
    }


def clinic_month_summary(*, user, month: datetime.date) -> list[dict]:
    """Per clinic in the user's reach: visits (net of reversals), reversals and the sum of each
    fund, for `month` (read from the monthly rollup)."""
    queryset = scope_queryset(SettlementMonthStat.objects.filter(month=month_start(month)), user)
    return _money_rows(
        queryset.values("facility_id", "facility__code", "facility__name")
        .annotate(**_stat_sums())
        .order_by("facility__code")
    )


def latest_import_id() -> int:
    """The newest import batch's id (0 for none): the monthly rollup changes with each batch, so a
    reader may cache what it computed from the rollup under this number."""
    return SettlementImport.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def monthly_totals(
    *, user, start: datetime.date, end: datetime.date, township_code: str | None = None, amounts: bool = True
) -> list[dict]:
    """Per township and month in [start, end) (first days of months), within the user's reach:
    visits net of reversals, reversals and (unless `amounts=False`, for a visits-only chart) the
    sum of each fund, read from the monthly rollup. Grouped by the township's id (an integer hash
    aggregate over the rollup, the one big read), then named in a second small query.
    Rows: township_code, township_name, month, visits, reversals and the amounts (Decimal)."""
    queryset = scope_queryset(
        SettlementMonthStat.objects.filter(month__gte=month_start(start), month__lt=month_start(end)), user
    )
    if township_code:
        queryset = queryset.filter(facility__township__code=township_code)
    sums = _stat_sums() if amounts else {"visits": Coalesce(Sum("visits"), Value(0)), "reversals": Coalesce(Sum("reversals"), Value(0))}
    rows = list(queryset.values("month", township_id=F("facility__township_id")).annotate(**sums).order_by())
    if amounts:
        rows = _money_rows(rows)
    names = dict(
        (pk, (code, name))
        for pk, code, name in Township.objects.filter(pk__in={r["township_id"] for r in rows}).values_list("pk", "code", "name")
    )
    for row in rows:
        if not isinstance(row["month"], datetime.date):
            row["month"] = datetime.date.fromisoformat(str(row["month"])[:10])
        row["township_code"], row["township_name"] = names.get(row.pop("township_id"), ("", ""))
    rows.sort(key=lambda r: (r["township_code"], r["month"]))
    return rows


def practitioner_month_summary(*, user, month: datetime.date, facility_id: int | None = None) -> list[dict]:
    """Per clinic and practitioner code: the same figures as `clinic_month_summary`."""
    queryset = scope_queryset(records_in_month(month), user)
    if facility_id is not None:
        queryset = queryset.filter(facility_id=facility_id)
    return _money_rows(
        queryset.values("facility_id", "facility__code", "facility__name", "atddr_no")
        .annotate(**_summary_annotations())
        .order_by("facility__code", "atddr_no")
    )


def monthly_visits(*, months: list[datetime.date], facility_ids=None) -> dict[tuple[int, datetime.date], int]:
    """Net insured visits (all clearing types) per (clinic, month) for the given months, from the
    monthly rollup in one query."""
    queryset = SettlementMonthStat.objects.filter(month__in=sorted({month_start(m) for m in months}))
    if facility_ids is not None:
        queryset = queryset.filter(facility_id__in=list(facility_ids))
    counts: dict[tuple[int, datetime.date], int] = defaultdict(int)
    for row in queryset.values("facility_id", "month").annotate(n=Sum("visits")).order_by():
        counts[(row["facility_id"], row["month"])] = row["n"]
    return counts


def reconciliation_list(*, user, month: datetime.date | None = None) -> QuerySet:
    queryset = scope_queryset(Reconciliation.objects.select_related("facility", "statement"), user)
    return queryset.filter(month=month_start(month)) if month else queryset


def anomaly_list(*, user, month: datetime.date | None = None) -> QuerySet:
    queryset = scope_queryset(ActivityAnomaly.objects.select_related("facility__township"), user)
    return queryset.filter(month=month_start(month)) if month else queryset


def records_by_setl_id(setl_ids, *fields):
    """The log rows of these setl_ids, found through the key table: their times pick the
    partitions and their clinics the range of the log's (facility_id, id) index (the log has no
    index on setl_id). Not scoped: the caller narrows it to the user's reach."""
    setl_ids = list(setl_ids)
    places = list(SettlementKey.objects.filter(setl_id__in=setl_ids).values_list("facility_id", "settled_at"))
    if not places:
        return SettlementRecord.objects.none()
    # setl_id is unique in the log, so the cross product of the times and clinics finds no more
    # rows; the times prune the partitions, the clinics pick the index range.
    records = SettlementRecord.objects.filter(setl_id__in=setl_ids, settled_at__in={at for _f, at in places})
    clinics = {facility_id for facility_id, _at in places}
    if None not in clinics:  # a key migration 0008 could not place
        records = records.filter(facility_id__in=clinics)
    return records.only("setl_id", *fields) if fields else records


# --- For the dashboard ----------------------------------------------------------------------


def reconciliation_balance(*, user, month: datetime.date) -> dict:
    """The reconciliations starting in `month` in reach: how many the platform answered balanced
    and how many not (one not yet answered is neither), and the unbalanced ones by clinic code (a
    queryset, to count or slice)."""
    reconciliations = reconciliation_list(user=user, month=month)
    counts = reconciliations.aggregate(
        n_balanced=Count("id", filter=Q(balanced=True)), n_unbalanced=Count("id", filter=Q(balanced=False))
    )
    return {
        "balanced": counts["n_balanced"],
        "unbalanced": counts["n_unbalanced"],
        "unbalanced_rows": reconciliations.filter(balanced=False).order_by("facility__code"),
    }


def recent_anomaly_list(*, user, since: datetime.date) -> QuerySet:
    """Activity anomalies in reach from the month holding `since` on, newest month first."""
    return anomaly_list(user=user).filter(month__gte=month_start(since)).order_by("-month", "facility__code")


def reconciliation_rows(results) -> tuple[list[str], list[list]]:
    """Headers and rows of the XLSX export of reconciliations: one row per 3201 line (Cunyi's side
    and the platform's answer) with the clinic's 3202 counts."""
    headers = [
        _("Clinic code"), _("Clinic"), _("Period from"), _("Period to"), _("insutype"), _("clr_type"),
        _("setl_optins"), _("medfee_sumamt"), _("fund_pay_sumamt"), _("acct_pay"), _("fixmedins_setl_cnt"),
        _("stmt_rslt"), _("stmt_rslt_dscr"), _("Balanced (platform)"), _("3202 rows balanced"), _("Missing here"),
        _("Missing at the centre"), _("Amounts differ"), _("Booked elsewhere"), _("To check"),
    ]
    rows = []
    for r in results:
        answer = "" if r.balanced is None else (_("Yes") if r.balanced else _("No"))
        lines = list(r.totals.all()) or [None]
        for line in lines:
            rows.append([
                r.facility.code, r.facility.name, f"{r.stmt_begndate:%Y-%m-%d}", f"{r.stmt_enddate:%Y-%m-%d}",
                line.insutype if line else "", line.clr_type if line else "", line.setl_optins if line else "",
                line.medfee_sumamt if line else None, line.fund_pay_sumamt if line else None,
                line.acct_pay if line else None, line.fixmedins_setl_cnt if line else None,
                line.get_stmt_rslt_display() if line and line.stmt_rslt else "", line.stmt_rslt_dscr if line else "",
                answer, r.matched, r.missing_here, r.missing_at_bureau, r.amounts_differ, r.other_scope, r.unexplained,
            ])
    return headers, rows


def item_difference(item) -> Decimal | None:
    """Here − centre of the total fees, when both sides have it."""
    if item.our_medfee is None or item.bureau_medfee is None:
        return None
    return item.our_medfee - item.bureau_medfee


def item_advice(item, clinics: dict | None = None) -> str:
    """What to do about one row of the platform's 3202 result, as a Chinese sentence."""
    Status = ReconciliationItem.Status
    if item.status == Status.MATCHED:
        return _("Nothing to do: the platform and Cunyi agree.")
    if item.status == Status.MISSING_HERE:
        return _("The centre has this settlement, Cunyi does not: upload it to Cunyi (补传结算) from the clinic's "
                 "insurance terminal or the platform's settlement query (5203); if the clinic did not make it, "
                 "ask the county insurance bureau.")
    if item.status == Status.MISSING_AT_BUREAU:
        return _("Cunyi has this settlement, the centre does not: check it on the terminal; if it failed or timed "
                 "out at the platform, reverse it (冲正 2601, or 撤销 2208 when it completed) and upload the reversal "
                 "to Cunyi; if the platform lost it, ask the county insurance bureau.")
    if item.status == Status.AMOUNTS_DIFFER:
        parts = []
        for label, ours, theirs in ((_("total fees"), item.our_medfee, item.bureau_medfee),
                                    (_("funds"), item.our_fund, item.bureau_fund),
                                    (_("personal account"), item.our_acct, item.bureau_acct)):
            if ours is not None and theirs is not None and ours != theirs:
                parts.append(_("%(what)s %(ours)s here, %(theirs)s at the centre (difference %(diff)s)")
                             % {"what": label, "ours": ours, "theirs": theirs, "diff": ours - theirs})
        return _("The amounts differ: %(parts)s. Check the settlement on the terminal; if the platform's amounts are "
                 "right, cancel it (撤销 2208), settle again and upload both to Cunyi; otherwise ask the county "
                 "insurance bureau.") % {"parts": "；".join(parts) or "—"}
    if item.status == Status.OTHER_SCOPE:
        clinic = (clinics or {}).get(item.booked_facility_id) or item.booked_facility
        where = _("%(clinic)s, insutype %(insutype)s, clr_type %(clr_type)s, clearing agency %(optins)s, %(at)s") % {
            "clinic": f"{clinic.code} {clinic.name}" if clinic else "—", "insutype": item.booked_insutype or "—",
            "clr_type": item.booked_clr_type or "—", "optins": item.booked_optins or "—",
            "at": f"{timezone.localtime(item.booked_at):%Y-%m-%d %H:%M}" if item.booked_at else "—"}
        return _("Cunyi books this settlement under %(where)s, outside this reconciliation: if Cunyi's booking is "
                 "right, ask the county insurance bureau to correct the institution or insurance type (联系医保局更正"
                 "机构/险种); if Cunyi's is wrong, reverse it in Cunyi and upload it under the right clinic and insurance type.") % {
            "where": where}
    return _("The platform reports %(result)s although the amounts agree with Cunyi: read the platform's note and "
             "check it with the county insurance bureau.") % {"result": item.get_stmt_rslt_display() or "—"}


def discrepancy_rows(month, facility_ids=None) -> tuple[list[str], list[list]]:
    """The 3202 result rows of the reconciliations starting in `month` that are not balanced, with
    both sides and what to do (the memo is the platform's text: the XLSX writer neutralises it)."""
    items = ReconciliationItem.objects.filter(reconciliation__month=month_start(month)).exclude(
        status=ReconciliationItem.Status.MATCHED
    ).select_related("reconciliation__facility", "booked_facility")
    if facility_ids is not None:
        items = items.filter(reconciliation__facility_id__in=facility_ids)
    headers = [_("Clinic code"), _("Clinic"), _("Row"), _("setl_id"), _("mdtrt_id"), _("psn_no"), _("stmt_rslt"),
               _("Status"), _("Total fees here"), _("Total fees at bureau"), _("Difference"), _("Funds here"),
               _("Funds at bureau"), _("memo"), _("What to do")]
    rows = [
        [i.reconciliation.facility.code, i.reconciliation.facility.name, i.row_number, i.setl_id, i.mdtrt_id,
         i.psn_no, i.stmt_rslt, i.get_status_display(), i.our_medfee, i.bureau_medfee, item_difference(i), i.our_fund,
         i.bureau_fund, i.memo, item_advice(i)]
        for i in items.order_by("reconciliation__facility__code", "status", "row_number", "setl_id")[:100000]
    ]
    return headers, rows
