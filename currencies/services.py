"""Writes of the currencies app: storing fetched ECB rates, admins' overrides, an
organization's reporting currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from currencies import ecb
from currencies.models import ExchangeRate, ReportingCurrency
from currencies.units import currency_code


@transaction.atomic
def rates_store(*, rates: dict[date, dict[str, Decimal]]) -> int:
    """Upsert ECB rates ({day: {currency: per EUR}}); return how many rows changed.
    Overrides are separate rows and are left alone."""
    existing = {
        (row.currency, row.day): row
        for row in ExchangeRate.objects.filter(source=ExchangeRate.Source.ECB, day__in=list(rates))
    }
    new, changed = [], []
    for day, by_currency in rates.items():
        for currency, rate in by_currency.items():
            row = existing.get((currency, day))
            if row is None:
                new.append(ExchangeRate(day=day, currency=currency, rate=rate, source=ExchangeRate.Source.ECB))
            elif row.rate != rate:  # the ECB corrected a published rate
                row.rate = rate
                changed.append(row)
    ExchangeRate.objects.bulk_create(new, batch_size=500)
    ExchangeRate.objects.bulk_update(changed, ["rate", "updated_at"], batch_size=500)
    return len(new) + len(changed)


def rates_refresh(*, url: str = ecb.HIST_90D_URL) -> dict:
    """Fetch the ECB's recent reference rates and store them (the daily periodic job)."""
    rates = ecb.fetch_reference_rates(url)
    stored = rates_store(rates=rates)
    return {"days": len(rates), "stored": stored, "latest": max(rates).isoformat()}


@transaction.atomic
def rate_override_set(*, day: date, currency: str, rate: Decimal, user=None, note: str = "") -> ExchangeRate:
    """An admin's rate for one day (units of `currency` per 1 EUR); it wins over the ECB's."""
    code = currency_code(currency)
    rate = Decimal(rate)
    if rate <= 0:
        raise ValueError(f"rate: expected a positive number of {code} per EUR, got {rate}")
    row, _ = ExchangeRate.objects.update_or_create(
        currency=code,
        day=day,
        source=ExchangeRate.Source.OVERRIDE,
        defaults={"rate": rate, "updated_by": user, "note": note},
    )
    return row


@transaction.atomic
def reporting_currency_set(*, organization, currency: str | None, user=None) -> str | None:
    """Set (or with None/"" clear, back to the default) an organization's reporting currency."""
    if not currency:
        ReportingCurrency.objects.filter(organization=organization).delete()
        return None
    code = currency_code(currency)
    ReportingCurrency.objects.update_or_create(
        organization=organization, defaults={"currency": code, "updated_by": user}
    )
    return code
