"""Which custom-report metrics Ocean Engine offers an advertiser, asked once and kept a while.

The 2.0 custom report (v3.0/report/custom/get) fails a whole request over one metric name it
does not know, and the names it knows depend on the data topic and the app's permission group.
v3.0/report/custom/config/get lists them per topic: `data.list[{data_topic, dimensions[{field,
...}], metrics[{field, name, description, exclusion_dims}]}]` (oceanengine/ad_open_sdk_go
models/model_report_custom_config_get_v3_0_response_data_list_inner*.go). We request only
metrics listed there, never a name of our own guessing, and keep the list for CONFIG_TTL per
(advertiser, topic) in this process, so a report run costs one config call a day.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from connectors.errors import MalformedResponse
from connectors.http import field

CONFIG_PATH = "v3.0/report/custom/config/get/"
CONFIG_TTL = 24 * 3600.0  # seconds; the offer changes with an app's permissions, rarely

# (advertiser, topic) -> (fetched at, {metric: excluded dimensions}, {display name: field})
_cache: dict[tuple[str, str], tuple[float, dict[str, tuple[str, ...]], dict[str, str]]] = {}
_lock = threading.Lock()


def listed(
    api: Any, token: str, advertiser: str, topic: str, *, clock: Callable[[], float] = time.monotonic
) -> dict[str, tuple[str, ...]]:
    """{metric field: the dimensions it cannot be combined with} for `topic`, cached."""
    return _config(api, token, advertiser, topic, clock)[0]


def field_names(
    api: Any, token: str, advertiser: str, topic: str, *, clock: Callable[[], float] = time.monotonic
) -> dict[str, str]:
    """{display name (名称): field} of the topic's metrics and dimensions (an async report
    file may head its columns with either)."""
    return _config(api, token, advertiser, topic, clock)[1]


def _config(
    api: Any, token: str, advertiser: str, topic: str, clock: Callable[[], float]
) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    key = (advertiser, topic)
    now = clock()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < CONFIG_TTL:
        return hit[1], hit[2]
    endpoint = CONFIG_PATH.strip("/")
    where = {"platform": "oceanengine", "endpoint": endpoint, "account": advertiser}
    data = api.call(
        "GET",
        CONFIG_PATH,
        token=token,
        endpoint=endpoint,
        account=advertiser,
        params={"advertiser_id": advertiser, "data_topics": [topic]},
    )
    metrics: dict[str, tuple[str, ...]] = {}
    names: dict[str, str] = {}
    for n, entry in enumerate(field(data, "list", list, at="data", **where)):
        at = f"data.list.{n}"
        if not isinstance(entry, dict) or entry.get("data_topic") != topic:
            continue
        for m, metric in enumerate(field(entry, "metrics", list, default=[], at=at, **where)):
            name = field(metric, "field", str, at=f"{at}.metrics.{m}", **where)
            excluded = field(metric, "exclusion_dims", list, default=[], at=f"{at}.metrics.{m}", **where)
            metrics[name] = tuple(str(d) for d in excluded)
            if isinstance(metric.get("name"), str):
                names[metric["name"]] = name
        for d, dimension in enumerate(field(entry, "dimensions", list, default=[], at=at, **where)):
            if isinstance(dimension, dict) and isinstance(dimension.get("name"), str):
                names[dimension["name"]] = field(dimension, "field", str, at=f"{at}.dimensions.{d}", **where)
    if not metrics:
        raise MalformedResponse(f"data.list has no metrics for {topic}", field="data.list", **where)
    with _lock:
        _cache[key] = (now, metrics, names)
    return metrics, names


def forget() -> None:
    """Drop every cached list (tests; an app whose permissions changed)."""
    with _lock:
        _cache.clear()
