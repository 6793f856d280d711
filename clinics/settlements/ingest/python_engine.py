"""The Python engine (SQLite): every rule of the table (`rules.STEPS`) row by row, then the
repeats, the recorded keys and the reversals, then bulk inserts."""

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from clinics.selectors import facility_rows_by_code
from clinics.settlements.ingest.common import IngestContext, IngestOutcome, clean_values, legacy_clr_type, rejected_raw
from clinics.settlements.models import (
    RejectedSettlementRow,
    SettlementImportWarning,
    SettlementKey,
    SettlementRecord,
)
from clinics.settlements.rules import (
    ALL_AMOUNTS,
    NUMBER_PATTERNS,
    STEPS,
    RowCheck,
    max_amount,
    relation_tolerance,
)
from clinics.settlements.selectors import records_by_setl_id
from clinics.settlements.spec import (
    AMOUNT_FIELDS,
    DATE_FIELDS,
    FINGERPRINT,
    PLATFORM_FIELDS,
    SIGNED_AMOUNTS,
    TIME_GROUPS,
    TIME_PATTERN,
    fingerprint,
)
from clinics.settlements.stats import add_rows as add_to_month_stats
from core.masking import mask_id_number

CHUNK = 900  # stays under SQLite's limit of host parameters per statement
# The 2207 text columns the log keeps as given (NULL when not given).
TEXT_COLUMNS = tuple(f for f in PLATFORM_FIELDS if f not in ALL_AMOUNTS and f not in NUMBER_PATTERNS
                     and f not in DATE_FIELDS)
TIME_RE = re.compile(TIME_PATTERN)


@dataclass
class _Row:
    number: int
    text: dict
    reason: str = ""
    facility_id: int | None = None
    settled_at: datetime.datetime | None = None
    amounts: dict = field(default_factory=dict)
    numbers: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)  # (code, message) of the relations it breaks, unconfirmed
    fp: str = ""


def parse_time(text: str) -> datetime.datetime | None:
    """setl_time as an aware datetime in the site's time zone; None when it is no valid time."""
    match = TIME_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match[i] or 0) for i in TIME_GROUPS)
    try:
        naive = datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None  # the calendar: 30 February
    return timezone.make_aware(naive, timezone.get_default_timezone())


class PythonEngine:
    parse_time = staticmethod(parse_time)

    def __init__(self, context: IngestContext, messages: dict[str, str], codes=None):
        self.context = context
        self.m = messages
        self.max_amount = max_amount()
        self.tolerance = relation_tolerance()
        # The clinic by its register code or its platform institution code ("H" + 11 digits).
        self.facilities = facility_rows_by_code(None, "settlement_enabled")
        self.codes = codes if codes is not None else context.codes()
        self.legacy_clr_type = legacy_clr_type(self.codes)
        self.warned = 0

    def check(self, row: _Row) -> str:
        """The reason of the first rule the row breaks, or "" (then the row carries its time,
        amounts and clinic, and the warnings of the unconfirmed relations it breaks)."""
        checked = RowCheck(row.text, self)
        warnings = []
        for step in STEPS:
            for rule, name in step:
                params = rule.python(checked, name)
                if params is not None:
                    if rule.warns:
                        warnings.append((rule.code, self.m[rule.code] % params))
                        continue
                    return self.m[rule.code] % params
        row.settled_at = checked.settled_at
        row.amounts = checked.amounts
        row.numbers = checked.numbers
        row.facility_id = checked.clinic[0]
        row.warnings = warnings
        return ""

    def platform_text(self, row: _Row) -> list[str]:
        """The PLATFORM_FIELDS values as the log prints them ("" when not given)."""
        out = []
        for name in PLATFORM_FIELDS:
            if name in ALL_AMOUNTS:
                value = row.amounts[name]
            elif name in NUMBER_PATTERNS:
                value = row.numbers[name]
                if value is not None:
                    value = value.quantize(Decimal("0.0001") if name == "pool_prop_selfpay" else Decimal("0.1"))
            elif name in DATE_FIELDS:
                value = row.numbers[name]
                value = value.isoformat() if value is not None else None
            else:
                value = row.text[name] or None
            out.append("" if value is None else str(value))
        return out

    def _fingerprint(self, row: _Row) -> str:
        t = row.text
        values = {
            **t, "certno_masked": mask_id_number(t["certno"]), "facility_id": str(row.facility_id),
            "settled_epoch": str(int(row.settled_at.timestamp())),
            **{name: str(row.amounts[name]) for name in AMOUNT_FIELDS},
        }
        return fingerprint((values[name] for name in FINGERPRINT), self.platform_text(row))

    def run(self, rows: Iterable[tuple[int, dict]]) -> IngestOutcome:
        outcome = IngestOutcome()
        rejects: list[_Row] = []
        valid: list[_Row] = []
        for number, values in rows:
            outcome.total += 1
            row = _Row(number, clean_values(values, self.legacy_clr_type))
            row.reason = self.check(row)
            if row.reason:
                rejects.append(row)
            else:
                row.fp = self._fingerprint(row)
                valid.append(row)

        first: dict[str, _Row] = {}
        candidates: list[_Row] = []
        for row in valid:
            earlier = first.get(row.text["setl_id"])
            if earlier is None:
                first[row.text["setl_id"]] = row
                candidates.append(row)
            elif earlier.fp == row.fp:
                outcome.duplicates += 1
            else:
                row.reason = self.m["repeated_in_batch"] % {"value": row.text["setl_id"], "row": earlier.number}
                rejects.append(row)

        known = self._known_fingerprints([r.text["setl_id"] for r in candidates])
        new_rows, reversals = [], []
        for row in candidates:
            fp = known.get(row.text["setl_id"])
            if fp == row.fp:
                outcome.duplicates += 1
            elif fp is not None:
                row.reason = self.m["conflicts_recorded"] % {"value": row.text["setl_id"]}
                rejects.append(row)
            else:
                (reversals if row.text["init_setl_id"] else new_rows).append(row)
        outcome.accepted += self._insert(new_rows)
        outcome.accepted += self._insert(self._check_reversals(reversals, rejects))
        self._keep_rejects(rejects)
        outcome.rejected = len(rejects)
        outcome.warned = self.warned
        return outcome

    @staticmethod
    def _known_fingerprints(setl_ids: list[str]) -> dict[str, str]:
        known = {}
        for start in range(0, len(setl_ids), CHUNK):
            chunk = setl_ids[start : start + CHUNK]
            known.update(SettlementKey.objects.filter(setl_id__in=chunk).values_list("setl_id", "fingerprint"))
        return known

    def _check_reversals(self, reversals: list[_Row], rejects: list[_Row]) -> list[_Row]:
        if not reversals:
            return []
        wanted = sorted({r.text["init_setl_id"] for r in reversals})
        originals, reversed_already = {}, set()
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            for record in records_by_setl_id(chunk, "facility_id", "init_setl_id", *SIGNED_AMOUNTS):
                originals[record.setl_id] = record
            reversed_already.update(
                SettlementKey.objects.filter(init_setl_id__in=chunk).values_list("init_setl_id", flat=True)
            )
        accepted, seen = [], set()
        m = self.m
        for row in sorted(reversals, key=lambda r: r.number):
            target = row.text["init_setl_id"]
            original = originals.get(target)
            if original is None:
                row.reason = m["original_missing"] % {"value": target}
            elif original.init_setl_id:
                row.reason = m["original_is_reversal"] % {"value": target}
            elif target in reversed_already or target in seen:
                row.reason = m["already_reversed"] % {"value": target}
            elif original.facility_id != row.facility_id:
                row.reason = m["reversal_other_clinic"] % {"value": target}
            elif any(
                getattr(original, name) is not None and row.amounts[name] is not None
                and getattr(original, name) != row.amounts[name]
                for name in SIGNED_AMOUNTS
            ):
                row.reason = m["reversal_amounts"] % {"value": target}
            seen.add(target)
            if row.reason:
                rejects.append(row)
            else:
                accepted.append(row)
        return accepted

    def _insert(self, rows: list[_Row]) -> int:
        if not rows:
            return 0
        context = self.context
        SettlementKey.objects.bulk_create(
            [
                SettlementKey(
                    setl_id=r.text["setl_id"], settled_at=r.settled_at, fingerprint=r.fp,
                    init_setl_id=r.text["init_setl_id"] or None, facility_id=r.facility_id,
                )
                for r in rows
            ],
            batch_size=500,
        )
        records = SettlementRecord.objects.bulk_create(
            [
                SettlementRecord(
                    setl_id=r.text["setl_id"], mdtrt_id=r.text["mdtrt_id"], psn_no=r.text["psn_no"],
                    psn_name=r.text["psn_name"], certno_masked=mask_id_number(r.text["certno"]),
                    insutype=r.text["insutype"], clr_type=r.text["clr_type"], settled_at=r.settled_at,
                    facility_id=r.facility_id, atddr_no=r.text["atddr_no"], init_setl_id=r.text["init_setl_id"],
                    batch_id=context.batch_id, recorded_at=context.now, is_demo=context.is_demo, **r.amounts,
                    **r.numbers, **{name: r.text[name] or None for name in TEXT_COLUMNS},
                )
                for r in rows
            ],
            batch_size=300,
        )
        SettlementImportWarning.objects.bulk_create(
            [
                SettlementImportWarning(batch_id=context.batch_id, row_number=r.number, setl_id=r.text["setl_id"][:100],
                                        code=code, message=message[:300])
                for r in sorted(rows, key=lambda r: r.number) for code, message in r.warnings
            ],
            batch_size=500,
        )
        self.warned += sum(1 for r in rows if r.warnings)
        add_to_month_stats(records)
        return len(rows)

    def _keep_rejects(self, rejects: list[_Row]) -> None:
        RejectedSettlementRow.objects.bulk_create(
            [
                RejectedSettlementRow(
                    batch_id=self.context.batch_id, row_number=r.number, setl_id=r.text["setl_id"][:100],
                    fixmedins_code=r.text["fixmedins_code"][:100], reason=r.reason[:300],
                    raw=rejected_raw(r.text),
                )
                for r in sorted(rejects, key=lambda r: r.number)
            ],
            batch_size=500,
        )
