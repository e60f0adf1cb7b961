"""Reads of the currencies app: which currency an organization reports in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from currencies.models import ReportingCurrency

FALLBACK = "EUR"
# The default follows the spend of the last 90 days; it is cached this long per organization.
_SPEND_DAYS = 90
_DEFAULT_TTL = 3600


def organization_reporting_currency(organization_id: int) -> tuple[str, bool]:
    """(currency, explicitly set?): the owner/admin's choice, else the default."""
    row = ReportingCurrency.objects.filter(organization_id=organization_id).values_list("currency", flat=True).first()
    if row:
        return row, True
    return organization_default_currency(organization_id), False


def organization_default_currency(organization_id: int) -> str:
    """The currency most of the organization's spend of the last 90 days is in (amounts
    compared in EUR at each day's rate); without spend, its accounts' most common
    currency; without accounts, EUR."""
    key = f"currencies:default:{organization_id}"
    hit = cache.get(key)
    if hit:
        return hit
    from accounts.models import AdAccount

    accounts = list(AdAccount.objects.filter(organization_id=organization_id).values_list("pk", "currency"))
    currency = _by_spend([pk for pk, _ in accounts]) if accounts else None
    if not currency:
        counts = Counter(c for _, c in accounts if c)
        currency = counts.most_common(1)[0][0] if counts else FALLBACK
    cache.set(key, currency, _DEFAULT_TTL)
    return currency


def _by_spend(account_ids: list[int]) -> str | None:
    from reports.selectors import report_spend_by_currency

    end = timezone.localdate()
    spend = report_spend_by_currency(account_ids=account_ids, start=end - timedelta(days=_SPEND_DAYS - 1), end=end)
    spend = {c: v for c, v in spend.items() if c and v > 0}
    return max(sorted(spend), key=lambda c: spend[c]) if spend else None


def reporting_currency_for_accounts(account_ids: Iterable[int]) -> str:
    """The reporting currency for a report over these accounts: their organization's; over
    accounts of several organizations, that of the organization with most of them."""
    from accounts.models import AdAccount

    orgs = Counter(AdAccount.objects.filter(pk__in=list(account_ids)).values_list("organization_id", flat=True))
    if not orgs:
        return FALLBACK
    organization_id = min(orgs, key=lambda o: (-orgs[o], o))
    return organization_reporting_currency(organization_id)[0]
