"""Pay components: a registry with one module per component.

Each module of this package declares one component, a `PayComponent` subclass decorated with
`@register`:

    @register
    class DutyWeekend(OnCallAllowance):
        code = "duty_weekend"                      # stored on payslip lines and policy rows
        order = 50                                 # its place on the payslip (unique)
        label = _("Weekend on-call allowance")     # English msgid, Chinese in the catalogue
        policy = True                              # its rate comes from the pay policy
        correctable = True                         # approved months are recomputed for it
        funding = ((FundingSource.COUNTY_FINANCE, 1),)  # default split; several sources allowed

        def compute(self, ctx, pays, data): ...    # appends its lines (see `PayComponent`)

The calculation (`staffing.payroll.calculation`) iterates the registry by phase and order;
the `component` fields of payslip lines and policy rows take their choices from here (a callable,
so a new component needs no migration). Adding a component is one new module in this package and
its test; nothing else changes.

Funding: a line records who pays it as ((source, share), ...), shares summing to 1. The
component's `funding` is the default; a policy row's funding source, when the amount comes from a
policy, names the single source instead (as the county entered it); a component may also give a
line its own split (`funding=` in `add`), e.g. a contract-service fee split between the medical
insurance fund, the public-health fund and the resident.
"""

import importlib
import pkgutil
from contextlib import contextmanager
from decimal import Decimal
from typing import ClassVar

from staffing.payroll.models import FundingSource
from staffing.payroll.money import money
from staffing.payroll.pay import DEDUCTION, EARNING, DoctorPay, Line

__all__ = [
    "DEDUCTION", "EARNING", "MONTH", "RUN", "WITHHOLDING", "PayComponent", "all_components", "choices", "component", "correctable", "discover",
    "earning_codes", "in_phase", "label", "line_order", "order_of", "policy_choices", "register", "registered",
]

# Phases of a run, in the order they are computed.
MONTH = "month"  # the month's earnings; recomputed for an earlier approved month to find corrections
RUN = "run"  # paid only in the run's own month (one-off items)
WITHHOLDING = "withholding"  # after every earning, in order (social insurance before income tax)
PHASES = (MONTH, RUN, WITHHOLDING)


class PayComponent:
    """One pay component. Subclasses set the class attributes and implement `compute` (or
    `lines`, called per doctor by the default `compute`)."""

    code: ClassVar[str]
    order: ClassVar[int]
    label: ClassVar[str]
    phase: ClassVar[str] = MONTH
    kind: ClassVar[str] = EARNING  # the usual kind of its lines; a line may say otherwise
    correctable: ClassVar[bool] = False  # changes to an approved month are paid as corrections
    policy: ClassVar[bool] = False  # the amount or rate comes from the pay policy's row for `code`
    monthly: ClassVar[bool] = False  # a monthly amount, pro-rated by payable days in a part month
    taxable: ClassVar[bool] = True  # counts for income tax
    funding: ClassVar[tuple] = ()  # ((FundingSource, share), ...) with shares summing to 1

    def prepare(self, ctx):
        """The component's own reads for the month (once for all doctors, never per doctor);
        the result is handed to `compute` as `data`."""
        return None

    def compute(self, ctx, pays: dict[int, DoctorPay], data) -> None:
        """Append this component's lines to the doctors' pays. `ctx` is the month's calculation
        (`staffing.payroll.calculation.MonthCalculation`: month, days, policies, the sources'
        facts)."""
        for pay in pays.values():
            self.lines(ctx, pay, data)

    def lines(self, ctx, pay: DoctorPay, data) -> None:
        """Per-doctor form of `compute`: append the doctor's lines with `add`."""

    # --- helpers ------------------------------------------------------------------------------

    def part(self, ctx, pay: DoctorPay):
        """The policy row in force for this component (amount, funding source, version), or None."""
        return ctx.policy(pay).components.get(self.code)

    def add(self, ctx, pay: DoctorPay, *, description: str, quantity, rate, part=None, source=None, kind=None,
            amount=None, funding=None, policy_id=None, taxable=None) -> Line | None:
        """Append one line (nothing when its amount is 0). The amount is quantity × rate rounded to
        the cent unless given; the funding is `funding`, else the policy row's source, else the
        component's declared split."""
        if type(quantity) is not Decimal:
            quantity = Decimal(quantity)
        amount = money(quantity * rate) if amount is None else amount
        if not amount:
            return None
        if funding is None:
            funding = ((part.funding_source, ONE),) if part is not None and part.funding_source else self.funding
        line = Line(
            component=self.code,
            kind=kind or self.kind,
            description=description,
            quantity=quantity,
            rate=rate,
            amount=amount,
            reference_month=ctx.month,
            taxable=self.taxable if taxable is None else taxable,
            policy_id=part.policy_id if part is not None else policy_id,
            funding=funding if type(funding) is tuple else tuple(funding),
            source=source if source is not None else {},
        )
        pay.lines.append(line)
        return line


ONE = Decimal(1)
_registry: dict[str, PayComponent] = {}
_discovered = False


def _check(item: PayComponent) -> None:
    name = type(item).__name__
    for attribute in ("code", "order", "label"):
        if not hasattr(item, attribute):
            raise ValueError(f"pay component {name} has no {attribute}")
    if len(item.code) > 30:
        raise ValueError(f"pay component code {item.code!r} is longer than 30 characters")
    if item.phase not in PHASES:
        raise ValueError(f"pay component {item.code}: unknown phase {item.phase!r}")
    if item.correctable and item.phase != MONTH:
        raise ValueError(f"pay component {item.code}: only a month-phase component can be corrected")
    for other in _registry.values():
        if other.code != item.code and other.order == item.order:
            raise ValueError(f"pay components {other.code} and {item.code} both have order {item.order}")
    sources = [source for source, _share in item.funding]
    unknown = set(sources) - set(FundingSource.values)
    if unknown or len(set(sources)) != len(sources):
        raise ValueError(f"pay component {item.code}: unknown or repeated funding sources {sorted(unknown) or sources}")
    shares = [Decimal(share) for _source, share in item.funding]
    if item.funding and (any(s <= 0 for s in shares) or sum(shares) != 1):
        raise ValueError(f"pay component {item.code}: funding shares must be positive and sum to 1, not {shares}")


def register(cls: type[PayComponent]) -> type[PayComponent]:
    """Class decorator: add the component to the registry (the class is returned unchanged)."""
    item = cls()
    _check(item)
    _registry[item.code] = item
    return cls


def unregister(code: str) -> None:
    _registry.pop(code, None)


@contextmanager
def registered(cls: type[PayComponent]):
    """Register a component for the duration of a block (tests)."""
    discover()
    register(cls)
    try:
        yield _registry[cls.code]
    finally:
        unregister(cls.code)


def discover() -> None:
    """Import every module of this package once, so each registers its component."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def all_components() -> list[PayComponent]:
    """Every component, in payslip order."""
    discover()
    return sorted(_registry.values(), key=lambda c: c.order)


def component(code: str) -> PayComponent:
    discover()
    return _registry[code]


def in_phase(phase: str) -> list[PayComponent]:
    return [c for c in all_components() if c.phase == phase]


def correctable() -> list[PayComponent]:
    return [c for c in all_components() if c.correctable]


UNREGISTERED_ORDER = 10_000  # a line of a component no longer registered: last


def order_of(code: str) -> int:
    discover()
    found = _registry.get(code)
    return found.order if found else UNREGISTERED_ORDER


def line_order():
    """A sort key putting lines in their components' order (`order_of`), for sorting a run's
    300,000 lines without a registry look-up each."""
    discover()
    orders = {code: item.order for code, item in _registry.items()}
    return lambda line: orders.get(line.component, UNREGISTERED_ORDER)


def label(code: str) -> str:
    discover()
    found = _registry.get(code)
    return str(found.label) if found else code


def choices() -> list[tuple[str, str]]:
    """Choices of a payslip line's component: every registered component (a callable for the
    model field, so migrations do not list them)."""
    return [(c.code, c.label) for c in all_components()]


def policy_choices() -> list[tuple[str, str]]:
    """Choices of a policy row's component: the components whose amount comes from a policy."""
    return [(c.code, c.label) for c in all_components() if c.policy]


def earning_codes() -> list[str]:
    """Components whose lines are usually earnings (charts of pay)."""
    return [c.code for c in all_components() if c.kind == EARNING]

