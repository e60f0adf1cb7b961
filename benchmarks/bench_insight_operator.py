"""Ingest rate of insight_operator against the sandbox: `python -m benchmarks insight_operator [--quick]`.

One sandbox advertiser (password sign-in, 5,000 ads; --quick: 1,000), its hourly ad-level
report of yesterday and today, the sandbox in a separate process over real HTTP. Timed in
the same run, on the same rows:
  operator       insight_operator.execute: token, fetch (HTTP + JSON + ReportRow), write
  fetch only     the connector's stream consumed without writing (what the operator cannot beat)
  store path     reports.store.report_rows_write of the fetched rows (held in a list)
  raw insert     clickhouse-connect `client.insert` of the same rows pre-converted to tuples
The issue's goal (the report path at >= 80% of a raw insert) is about what our write adds:
"store path / raw insert". The operator's end-to-end rate is bounded by the fetch, which is
the sandbox computing every number per request; its write overhead is shown as well.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import UTC

from benchmarks.bench_sandbox_stream import SERVE, _free_port


def _best(fn, repeat: int, before=None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str]) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    quick = "--quick" in argv
    ads = 1000 if quick else 5000
    repeat = 2 if quick else 3
    call_command("migrate", verbosity=0)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        base = f"http://127.0.0.1:{port}/sandbox"
        settings.PLATFORM_ENDPOINTS = {**(settings.PLATFORM_ENDPOINTS or {}), "sandbox_password": {"base": base}}
        _run(ads, repeat, timezone.now())
    finally:
        server.stdin.close()
        server.wait(timeout=10)


def _run(ads: int, repeat: int, now) -> None:
    from accounts.models import AdAccount, Credential, Organization
    from connectors.registry import account_ref, connector_for_platform
    from ingestion.operators.base import OperatorContext
    from ingestion.operators.registry import operator_class
    from reports.clickhouse.client import clickhouse_client
    from reports.store import COLUMNS, AccountKey, next_version, report_rows_write
    from reports.windows import report_window

    connector = connector_for_platform("sandbox_password")
    token = connector.login(username=f"user-7-1-{ads}", password="sandbox-password")
    info = next(connector.list_accounts(token))
    organization, _ = Organization.objects.get_or_create(name="bench insight operator")
    credential = Credential(organization=organization, platform="sandbox_password", subject=f"user-7-1-{ads}")
    credential.store(token)
    credential.save()
    account, _ = AdAccount.objects.update_or_create(
        platform="sandbox_password",
        external_id=info.external_id,
        defaults={
            "organization": organization,
            "name": info.name,
            "currency": info.currency,
            "timezone": info.timezone,
            "credential": credential,
        },
    )
    client = clickhouse_client()

    def truncate():
        client.command("TRUNCATE TABLE report_rows")

    params = {"granularity": "hour", "level": "ad"}
    context = OperatorContext(
        dag_id="bench",
        task_id="ad_hourly_insight_task",
        run_id=1,
        logical_time=now,
        timezone=account.timezone,
        params=params,
        ad_account_id=account.pk,
        platform="sandbox_password",
        try_number=1,
        max_tries=1,
        task_instance=None,
        log=logging.getLogger("bench.insight"),
    )
    start, end = report_window(granularity="hour", logical_time=now, timezone=account.timezone)
    rows = list(connector.fetch_report(token, account_ref(account), "ad", "hour", start, end))
    n = len(rows)

    operator = _best(lambda: operator_class("insight_operator")().execute(context), repeat, truncate)
    assert client.command("SELECT count() FROM report_rows FINAL") == n
    fetch = _best(
        lambda: sum(1 for _ in connector.fetch_report(token, account_ref(account), "ad", "hour", start, end)), repeat
    )
    held = _best(
        lambda: len(list(connector.fetch_report(token, account_ref(account), "ad", "hour", start, end))), repeat
    )
    store = _best(lambda: report_rows_write(account=account, rows=rows, run_id="bench"), repeat, truncate)
    key = AccountKey.of(account)
    version = next_version()
    tuples = [
        (
            "sandbox_password",
            key.id,
            r.granularity,
            r.level,
            r.stat_time.astimezone(UTC).replace(tzinfo=None),
            r.entity_id,
            r.stat_time.date(),
            r.impressions,
            r.clicks,
            r.cost,
            r.currency,
            r.conversions,
            r.extra,
            version,
            "bench",
        )
        for r in rows
    ]
    raw = _best(lambda: client.insert("report_rows", tuples, column_names=list(COLUMNS)), repeat, truncate)
    truncate()

    print(
        f"advertiser {info.external_id} ({account.timezone}), {ads} ads: hourly ad rows {start}..{end}, "
        f"{n:,} rows (best of {repeat})"
    )
    print(f"  insight_operator (fetch + write)  {n / operator:>10,.0f} rows/s  ({operator:.2f} s)")
    print(f"  fetch only (HTTP, no write)       {n / fetch:>10,.0f} rows/s  ({fetch:.2f} s)")
    print(f"  fetch into a list (no write)      {n / held:>10,.0f} rows/s  ({held:.2f} s)")
    print(f"  store path (report_rows_write)    {n / store:>10,.0f} rows/s  ({store:.2f} s)")
    print(f"  raw clickhouse-connect insert     {n / raw:>10,.0f} rows/s  ({raw:.2f} s, rows pre-converted)")
    ratio = raw / store
    print(f"  store path / raw insert: {ratio:.0%} (goal >= 80%: {'met' if ratio >= 0.8 else 'MISSED'})")
    print(
        f"  operator / fetch only: {fetch / operator:.0%} (the write's cost on top of fetching: "
        f"{max(0.0, operator - fetch):.2f} s)"
    )
