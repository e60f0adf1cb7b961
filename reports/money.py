"""Money of report answers: which currency an answer is in, and converting mixed currencies.

Rule: an answer over rows of one currency is in that currency. Over several, every row's
money is converted at the rate of its own day (`stat_date`, the account's local date) into
the reporting currency (the organization's, currencies.selectors), and the answer says
so in `conversion`. Rows whose currency has no rate at all are left out of the converted
sums and named in `conversion.missing_rates`; their originals stay in `by_currency`.

Two ways to convert, both one pass over ClickHouse:
  - totals and time series group by (bucket, currency, stat_date): a few hundred rows at
    most, converted here with Decimal factors (exact);
  - top entities must order by converted cost inside ClickHouse: the factors go in as an
    array parameter (currency x day offset), `factor_sql` multiplies each row by its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from currencies.rates import SOURCE_NAME, Conversion, conversion

_QUANTUM = Decimal("0.000001")


@dataclass
class MoneyPlan:
    """What an answer's money is in: `currency`, and `conv` when rows are converted."""

    currency: str | None
    conv: Conversion | None = None
    used: set[tuple[str, date]] | None = None  # (currency, day) pairs actually converted

    @property
    def converting(self) -> bool:
        return self.conv is not None

    def describe(self) -> dict | None:
        """The answer's `conversion` field: None when nothing was converted."""
        if self.conv is None:
            return None
        used = {u for u in (self.used or set()) if u[0] != self.conv.target}
        missing = sorted({c for c, d in used if self.conv.factor(c, d) is None})
        carried = self.conv.carried_forward(used)
        note = f"converted to {self.conv.target} at {SOURCE_NAME}"
        if missing:
            note += f"; {', '.join(missing)} left out (no rate)"
        return {
            "to": self.conv.target,
            "source": SOURCE_NAME,
            "note": note,
            "carried_forward": carried,
            "stale": self.conv.stale(used),
            "missing_rates": missing,
        }


def money_plan(currencies: Iterable[str], *, start: date, end: date, to_currency: str | None, fallback) -> MoneyPlan:
    """The plan for rows in `currencies` between start and end. `fallback()` gives the
    reporting currency (called only when needed: several currencies, or none)."""
    present = {c for c in currencies}
    if len(present) == 1 and (to_currency is None or to_currency in present):
        return MoneyPlan(currency=next(iter(present)))
    target = to_currency or fallback()
    if not present or present == {target}:
        return MoneyPlan(currency=target)
    return MoneyPlan(currency=target, conv=conversion(present, target, start, end), used=set())


def convert_cost(plan: MoneyPlan, cost: Decimal, currency: str, day: date) -> Decimal | None:
    """`cost` of a (currency, day) group in the plan's currency; None when it has no rate."""
    if plan.conv is None or currency == plan.conv.target:
        return cost
    plan.used.add((currency, day))
    factor = plan.conv.factor(currency, day)
    if factor is None:
        return None
    return cost * factor.value


def quantized(value: Decimal) -> Decimal:
    return value.quantize(_QUANTUM)


def factor_sql(plan: MoneyPlan, start: date, params: dict, cost: str, currency: str, day: str) -> str:
    """SQL of `cost` converted at each row's own day (Float64; 0 without a rate)."""
    conv = plan.conv
    codes = sorted(conv.factors)
    days = sorted({d for series in conv.factors.values() for d in series})
    matrix = []
    for code in codes:
        series = conv.factors[code]
        row = []
        for d in days:
            factor = series.get(d)
            row.append(float(factor.value) if factor is not None else 0.0)
        matrix.append(row)
    params.update(fx_codes=codes, fx=matrix, fx_start=days[0] if days else start)
    return (
        f"toFloat64({cost}) * arrayElement(arrayElement({{fx:Array(Array(Float64))}}, "
        f"indexOf({{fx_codes:Array(String)}}, {currency})), "
        f"toUInt32(greatest(0, dateDiff('day', {{fx_start:Date}}, {day})) + 1))"
    )
