"""Which report levels the accounts' DAGs fetch, per granularity: the dashboard's level menu
offers only those (an hourly view at a level nothing fetches hourly is all zeros)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.cache import cache

from connectors.base import GRANULARITIES, LEVELS

# The preferred default level, in order, among the levels fetched.
_DEFAULT_ORDER = ("campaign", "ad_group", "ad", "account")
_TTL = 60


def fetched_levels(account_ids: Sequence[int]) -> dict[str, list[str]]:
    """{granularity: [levels in LEVELS order]} over the DAGs of these accounts (cached a minute)."""
    key = "web:dashboard:levels:" + ",".join(map(str, sorted(account_ids)))
    hit = cache.get(key)
    if hit is not None:
        return hit
    from ingestion.models import Dag
    from web.apis.fetch import _task_params

    found: dict[str, set[str]] = {g: set() for g in GRANULARITIES}
    seen = set()
    for platform, spec in Dag.objects.filter(ad_account_id__in=list(account_ids)).values_list("platform", "spec"):
        for task in (spec or {}).get("tasks", []):
            if task.get("is_dummy"):
                continue
            marker = (platform, repr(sorted(task.get("params", {}).items())), task.get("operator_name"))
            if marker in seen:  # many accounts share their template's tasks
                continue
            seen.add(marker)
            params = _task_params(task, platform)
            granularity = params.get("granularity")
            if granularity not in found:
                continue  # metadata tasks fetch no report rows
            found[granularity].update(params.get("levels") or [params.get("level", "account")])
    out = {g: [lv for lv in LEVELS if lv in levels] for g, levels in found.items()}
    cache.set(key, out, _TTL)
    return out


def default_level(levels: Sequence[str]) -> str:
    for level in _DEFAULT_ORDER:
        if level in levels:
            return level
    return "campaign"
