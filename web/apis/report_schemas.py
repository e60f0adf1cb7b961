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

TOTALS = METRICS

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
        "metrics": {"type": "object", "additionalProperties": _CHANGE},
    },
}

DASHBOARD = {
    "type": "object",
    "properties": {
        "query": {"type": "object", "additionalProperties": True, "description": "the filters as resolved"},
        "period": _PERIOD,
        "previous_period": _PERIOD,
        "kpis": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "metric": {"type": "string"},
                    "label": {"type": "string"},
                    "format": {"type": "string", "enum": ["int", "float", "money", "pct"]},
                    **_CHANGE["properties"],
                },
            },
        },
        "timeseries": TIMESERIES,
        "top": TOP,
    },
}
