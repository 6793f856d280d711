"""One transition mechanism for every model with a status.

A model declares its machine once, next to its status choices:

    BOOKING_FLOW = StateMachine(
        model=ConsultBooking,
        field="status",
        allowed={"requested": {"confirmed", "declined", "cancelled"}, "confirmed": {"in_progress", …}, …},
        audit_prefix="teleconsult.booking",
        record_event=lambda row, *, before, to, kind, actor, note: BookingEvent.objects.create(…),
    )

and every status change goes through it:

- `machine.transition(row, to=…, kind=…, actor=…, fields={…}, reason=…)` locks the row
  (SELECT … FOR UPDATE OF the row), refuses a step the table does not allow with a
  `core.errors.Conflict` (HTTP 409, code "invalid_transition") whose message names the current
  state, writes the status and the other fields given, calls the model's event writer, and writes
  the audit row — all in one transaction.
- `machine.bulk_transition(queryset, to=…, kind=…, actor=…)` does the same for a sweep: it locks
  the rows that may take the step (others are left alone and not counted), updates them in one
  statement, writes their events through `record_events` (bulk) and one audit row each.

Checks that are not about the state (who may act, whether the time has come) stay in the service,
which calls `machine.check(row, to)` first when it wants the refusal before its own checks.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.db import models, transaction
from django.utils.translation import gettext as _

from core.audit import audit_bulk, audit_record
from core.errors import Conflict


def _label(model, field_name: str, value) -> str:
    choices = dict(model._meta.get_field(field_name).flatchoices)
    return str(choices.get(value, value))


@dataclass(frozen=True)
class StateMachine:
    model: type[models.Model]
    allowed: Mapping[str, Iterable[str]]
    audit_prefix: str
    field: str = "status"
    # record_event(row, *, before, to, kind, actor, note) writes the model's own history row.
    record_event: Callable | None = None
    # record_events(rows, *, befores, to, kind, actor, note) is the bulk form for sweeps.
    record_events: Callable | None = None
    # refusal(row, to) -> str: the message of the 409 when the model has a clearer one than the
    # default (which names the current state); the code stays "invalid_transition".
    refusal: Callable | None = None
    # error: the Conflict subclass to raise (an app's own, so its callers can catch it); 409 still.
    error: type[Conflict] = Conflict
    _table: dict = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self):
        table = {str(k): frozenset(str(v) for v in vs) for k, vs in self.allowed.items()}
        valid = {str(value) for value, _label in self.model._meta.get_field(self.field).flatchoices}
        unknown = (set(table) | {t for ts in table.values() for t in ts}) - valid
        if unknown:
            raise ValueError(f"{self.model.__name__}.{self.field}: unknown states in the transition table: {sorted(unknown)}")
        object.__setattr__(self, "_table", table)

    # --- questions ---------------------------------------------------------------------------

    def targets(self, state) -> frozenset:
        """The states `state` may move to."""
        return self._table.get(str(state), frozenset())

    def sources(self, to) -> list[str]:
        """The states from which `to` may be reached."""
        return sorted(s for s, ts in self._table.items() if str(to) in ts)

    def can(self, row, to) -> bool:
        return str(to) in self.targets(getattr(row, self.field))

    def check(self, row, to) -> None:
        """Refuse (409) a step the table does not allow from the row's current state."""
        if not self.can(row, to):
            if self.refusal is not None:
                raise self.error(self.refusal(row, to), code="invalid_transition", state=str(getattr(row, self.field)))
            raise self.error(
                _("This is already “%(state)s”, so it cannot become “%(to)s”. Reload the page to see its current state.")
                % {"state": _label(self.model, self.field, getattr(row, self.field)), "to": _label(self.model, self.field, to)},
                code="invalid_transition",
                state=str(getattr(row, self.field)),
            )

    def lock(self, row):
        """The row again, locked for the rest of the transaction."""
        return self.model._default_manager.select_for_update(of=("self",)).get(pk=row.pk)

    # --- changes -----------------------------------------------------------------------------

    def transition(self, row, *, to, actor, kind: str | None = None, fields: Mapping | None = None, reason: str = "",
                   note: str = "", lock: bool = True, audit_changes: Mapping | None = None, event: Mapping | None = None):
        """Move one row to `to` (see the module's docstring). Returns the (locked) row. `event`
        holds extra keyword arguments for the model's event writer (a move's old and new slot)."""
        with transaction.atomic():
            if lock:
                row = self.lock(row)
            self.check(row, to)
            before = getattr(row, self.field)
            setattr(row, self.field, to)
            for name, value in (fields or {}).items():
                setattr(row, name, value)
            row.save(update_fields=[self.field, *(fields or {})])
            kind = kind or str(to)
            if self.record_event is not None:
                self.record_event(row, before=before, to=to, kind=kind, actor=actor, note=note or reason, **(event or {}))
            audit_record(
                actor=actor,
                action=f"{self.audit_prefix}.{kind}",
                target=row,
                changes={self.field: [before, to], **(audit_changes or {})},
                reason=reason,
            )
        return row

    def bulk_transition(self, queryset, *, to, actor, kind: str | None = None, fields: Mapping | None = None,
                        reason: str = "", note: str = "", audit_changes: Mapping | None = None,
                        skip_locked: bool = False) -> list:
        """Move every row of `queryset` that may take the step to `to`; returns the rows moved.
        With `skip_locked`, rows another transaction holds right now are left to the next sweep."""
        kind = kind or str(to)
        with transaction.atomic():
            rows = list(
                queryset.filter(**{f"{self.field}__in": self.sources(to)})
                .select_for_update(of=("self",), skip_locked=skip_locked)
                .order_by("pk")
            )
            if not rows:
                return []
            befores = {row.pk: getattr(row, self.field) for row in rows}
            self.model._default_manager.filter(pk__in=list(befores)).update(**{self.field: to, **(fields or {})})
            for row in rows:
                setattr(row, self.field, to)
                for name, value in (fields or {}).items():
                    setattr(row, name, value)
            if self.record_events is not None:
                self.record_events(rows, befores=befores, to=to, kind=kind, actor=actor, note=note or reason)
            elif self.record_event is not None:
                for row in rows:
                    self.record_event(row, before=befores[row.pk], to=to, kind=kind, actor=actor, note=note or reason)
            audit_bulk(actor=actor, action=f"{self.audit_prefix}.{kind}", targets=rows, changes={self.field: to, **(audit_changes or {})},
                       reason=reason)
        return rows
