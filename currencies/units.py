"""ISO 4217 currency facts and money formatting, no Django: minor units (JPY and KRW have
none, BHD three), code validation, and an amount shown with its own decimals.

The minor units come from Babel's CLDR data, a kept copy of ISO 4217's table.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

from babel.numbers import get_currency_precision, list_currencies

_CODE = re.compile(r"^[A-Z]{3}$")
_KNOWN = frozenset(list_currencies())


class CurrencyError(ValueError):
    """Not an ISO 4217 currency code; the message names the value."""


def currency_code(value: object) -> str:
    """`value` as an upper-case ISO 4217 code, or CurrencyError."""
    code = str(value or "").strip().upper()
    if not _CODE.match(code) or code not in _KNOWN:
        raise CurrencyError(f"{value!r} is not an ISO 4217 currency code (e.g. EUR, USD, JPY)")
    return code


def minor_units(code: str) -> int:
    """Decimals the currency is shown with: 2 for USD and CNY, 0 for JPY and KRW, 3 for BHD.
    An unknown or empty code gets 2 (what most currencies have)."""
    if not code or code not in _KNOWN:
        return 2
    return get_currency_precision(code)


def rounded(amount: Decimal | float | int, code: str) -> Decimal:
    """`amount` rounded to the currency's minor unit (banker's rounding, as accounting does)."""
    quantum = Decimal(1).scaleb(-minor_units(code))
    return Decimal(str(amount)).quantize(quantum, rounding=ROUND_HALF_EVEN)


def format_money(amount: Decimal | float | int | None, code: str, *, with_code: bool = True) -> str:
    """`1,234.50 USD`, `123,457 JPY`: thousands separators, the currency's own decimals."""
    if amount is None:
        return "—"
    digits = minor_units(code)
    text = f"{float(amount):,.{digits}f}" if not isinstance(amount, Decimal) else f"{rounded(amount, code):,}"
    return f"{text} {code}" if with_code and code else text
