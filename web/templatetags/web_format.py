"""Number formatting for KPI cards and tables (thousands separators, percentages, changes)."""

from decimal import Decimal

from django import template

from currencies.units import format_money

register = template.Library()


@register.filter
def money(value, currency: str = ""):
    """An amount with its currency's own decimals and code: `1,234.50 USD`, `123,457 JPY`."""
    return format_money(value, currency or "")


@register.filter
def metric(value, fmt: str = "int"):
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        value = float(value)
    if fmt == "pct":
        return f"{value * 100:.2f}%"
    if fmt == "money":
        return f"{value:,.2f}"
    if fmt == "float":
        return f"{value:,.1f}" if value % 1 else f"{value:,.0f}"
    return f"{value:,.0f}"


@register.filter
def change_class(kpi: dict) -> str:
    pct = kpi.get("change_pct")
    if pct is None or abs(pct) < 0.05:
        return ""
    # Costs going up is not good news: colour by direction, not by sentiment, except for cost ratios.
    up = pct > 0
    if kpi.get("metric") in ("cpc", "cpa", "cpm"):
        up = not up
    return "up" if up else "down"


@register.simple_tag
def query_with(params, **changes) -> str:
    """The current query string with some parameters changed ("" removes one)."""
    query = params.copy()
    for key, value in changes.items():
        if value in ("", None):
            query.pop(key, None)
        else:
            query[key] = str(value)
    return "?" + query.urlencode()


@register.filter
def change_text(kpi: dict) -> str:
    pct = kpi.get("change_pct")
    if kpi.get("incomplete"):
        return "previous period incomplete"
    if pct is None:
        return "no previous data"
    arrow = "▲" if pct > 0 else ("▼" if pct < 0 else "■")
    versus = "same period last year" if kpi.get("compare") == "year" else "previous period"
    return f"{arrow} {abs(pct):.1f}% vs {versus}"
