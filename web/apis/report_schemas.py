"""OpenAPI shapes of the report answers. The report selectors return plain dicts (their
metrics include any `extra.NAME` asked for), so these are schemas, not serializers."""

from __future__ import annotations

from typing import Any

_NUMBER_OR_NULL = {"type": "number", "nullable": True}

METRICS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "impressions": {"type": "integer"},
        "clicks": {"type": "integer"},
        "cost": {"type": "number"},
        "conversions": {"type": "number"},
        "ctr": {**_NUMBER_OR_NULL, "description": "clicks / impressions; null without impressions"},
        "cpc": {**_NUMBER_OR_NULL, "description": "cost / clicks"},
        "cpm": {**_NUMBER_OR_NULL, "description": "1000 * cost / impressions"},
        "cpa": {**_NUMBER_OR_NULL, "description": "cost / conversions"},
    },
    "additionalProperties": {"type": "number", "description": "extra.NAME metrics asked for with `metrics`"},
}
METRICS["properties"]["currency"] = {
    "type": "string",
    "nullable": True,
    "description": "ISO 4217 code of cost, cpc, cpm and cpa (null: no account to tell)",
}

CONVERSION = {
    "type": "object",
    "nullable": True,
    "description": "null when every row is in the answer's currency; else how mixed currencies were converted",
    "properties": {
        "to": {"type": "string"},
        "source": {"type": "string", "example": "ECB daily reference rates"},
        "note": {"type": "string", "example": "converted to EUR at ECB daily reference rates"},
        "carried_forward": {
            "type": "object",
            "description": "{currency: {day: date of the earlier rate used}} for days without their own rate",
            "additionalProperties": {"type": "object", "additionalProperties": {"type": "string", "format": "date"}},
        },
        "stale": {"type": "boolean", "description": "a rate older than 4 days was used (refresh not running?)"},
        "missing_rates": {
            "type": "array",
            "items": {"type": "string"},
            "description": "currencies with no rate at all: left out of the converted sums",
        },
    },
}
BY_CURRENCY = {
    "type": "object",
    "description": "the originals: metrics of each currency's rows, unconverted",
    "additionalProperties": METRICS,
}

TOTALS = {
    **METRICS,
    "properties": {**METRICS["properties"], "conversion": CONVERSION, "by_currency": BY_CURRENCY},
}

TIMESERIES = {
    "type": "array",
    "items": {
        **METRICS,
        "properties": {
            "date": {"type": "string", "format": "date", "description": "daily series: the local date"},
            "time": {"type": "string", "format": "date-time", "description": "hourly series: the hour's start (UTC)"},
            **METRICS["properties"],
        },
    },
}

TOP = {
    "type": "array",
    "items": {
        **METRICS,
        "properties": {
            "account_id": {"type": "integer"},
            "entity_id": {"type": "string"},
            "name": {
                "type": "string",
                "nullable": True,
                "description": "null when the entity's metadata was never fetched",
            },
            "status": {"type": "string", "nullable": True},
            "deleted": {"type": "boolean"},
            **METRICS["properties"],
            "original_currency": {"type": "string", "description": "when converted: the entity's own currency"},
            "original_cost": {"type": "number", "description": "when converted: cost in original_currency"},
        },
    },
}

_PERIOD = {
    "type": "object",
    "properties": {"start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"}},
}
_CHANGE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "current": _NUMBER_OR_NULL,
        "previous": _NUMBER_OR_NULL,
        "change": _NUMBER_OR_NULL,
        "change_pct": {**_NUMBER_OR_NULL, "description": "percent; null when the previous value is 0 or undefined"},
    },
}

COMPARE = {
    "type": "object",
    "properties": {
        "period": _PERIOD,
        "previous_period": _PERIOD,
        "currency": METRICS["properties"]["currency"],
        "conversion": CONVERSION,
        "by_currency": BY_CURRENCY,
        "metrics": {"type": "object", "additionalProperties": _CHANGE},
    },
}

DASHBOARD = {
    "type": "object",
    "properties": {
        "query": {"type": "object", "additionalProperties": True, "description": "the filters as resolved"},
        "period": _PERIOD,
        "previous_period": _PERIOD,
        "currency": METRICS["properties"]["currency"],
        "conversion": CONVERSION,
        "by_currency": BY_CURRENCY,
        "kpis": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "metric": {"type": "string"},
                    "label": {"type": "string"},
                    "format": {"type": "string", "enum": ["int", "float", "money", "pct"]},
                    "currency": {"type": "string", "description": "money KPIs: their ISO 4217 code"},
                    **_CHANGE["properties"],
                },
            },
        },
        "timeseries": TIMESERIES,
        "top": TOP,
    },
}
