"""The ECB's euro foreign exchange reference rates over HTTP: fetch and parse.

The ECB publishes one XML file per window (`eurofxref-daily.xml`: the latest day,
`eurofxref-hist-90d.xml`: the last 90 days) in the gesmes envelope documented at
https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/:

    <gesmes:Envelope ...><Cube><Cube time="2026-12-02"><Cube currency="USD" rate="1.0552"/>...

Rates are units of the currency per 1 EUR, published around 16:00 CET on TARGET days.
The 90-day file is fetched, so a refresh that did not run for a while fills its gap.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import defusedxml.ElementTree as ElementTree
import requests

HIST_90D_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
TIMEOUT = (10, 30)


class RateFetchError(Exception):
    """The ECB's file could not be fetched or read; nothing was stored."""


def parse_reference_rates(body: bytes | str) -> dict[date, dict[str, Decimal]]:
    """{day: {currency: units per EUR}} from an ECB eurofxref XML document."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise RateFetchError(f"ECB reference rates: not XML ({exc})") from None
    out: dict[date, dict[str, Decimal]] = {}
    for day_cube in root.iter(f"{_NS}Cube"):
        when = day_cube.get("time")
        if when is None:
            continue
        try:
            day = date.fromisoformat(when)
        except ValueError:
            raise RateFetchError(f"ECB reference rates: bad date {when!r}") from None
        rates = {}
        for cube in day_cube.findall(f"{_NS}Cube"):
            currency, rate = cube.get("currency", ""), cube.get("rate", "")
            try:
                value = Decimal(rate)
            except InvalidOperation:
                raise RateFetchError(f"ECB reference rates: bad rate {rate!r} for {currency} on {day}") from None
            if len(currency) != 3 or not currency.isalpha() or value <= 0:
                raise RateFetchError(f"ECB reference rates: bad entry {currency!r}={rate!r} on {day}")
            rates[currency.upper()] = value
        out[day] = rates
    if not out:
        raise RateFetchError("ECB reference rates: the document holds no day of rates")
    return out


def fetch_reference_rates(url: str = HIST_90D_URL, *, session: requests.Session | None = None):
    """Download and parse one ECB rates file (90 days by default)."""
    try:
        response = (session or requests).get(url, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise RateFetchError(f"ECB reference rates: {type(exc).__name__} fetching {url}") from None
    if response.status_code != 200:
        raise RateFetchError(f"ECB reference rates: HTTP {response.status_code} from {url}")
    return parse_reference_rates(response.content)
