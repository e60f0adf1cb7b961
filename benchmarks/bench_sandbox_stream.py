"""Streaming reports from the sandbox: `python -m benchmarks sandbox_stream [--quick]`.

Fetches hourly ad-level reports of one sandbox advertiser with 1,000 ads over growing
date ranges (1, 7, 30 days; --quick: 1, 3, 7) through SandboxConnector over real HTTP,
the server in a separate process so only the connector's memory is measured. For each
range: rows, seconds and rows/s of consuming the stream (untraced), then the peak of
Python allocations (tracemalloc) while consuming it again, next to the same-run baseline
of holding the rows in a list.
Goal: the streaming peak stays flat (about one page) as the range grows; the list's
grows with the rows.
"""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import time
import tracemalloc
from datetime import date, timedelta

SERVE = """
import os, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
django.setup()
from connectors.sandbox.server import SandboxServer
SandboxServer(port=int(sys.argv[1]), threads=4).start()
print("ready", flush=True)
sys.stdin.read()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(consume) -> tuple[int, float]:
    gc.collect()
    started = time.perf_counter()
    n = consume()
    return n, time.perf_counter() - started


def _peak(consume) -> tuple[int, float]:
    """Peak MiB of Python allocations while `consume` runs (tracemalloc, not timed)."""
    gc.collect()
    tracemalloc.start()
    n = consume()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return n, peak / 2**20


def main(argv: list[str]) -> None:
    from connectors.base import AccountRef, AppConfig
    from connectors.http import LocalRateLimiter
    from connectors.sandbox.connector import SandboxConnector

    quick = "--quick" in argv
    ranges = (1, 3, 7) if quick else (1, 7, 30)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        base = f"http://127.0.0.1:{port}/sandbox"
        connector = SandboxConnector(
            AppConfig(client_id="bench", client_secret="bench-secret"),
            endpoints={"base": base},
            limiter=LocalRateLimiter(),
        )
        token = connector.login(username="user-1-1-1000", password="sandbox-password")
        info = next(connector.list_accounts(token))
        account = AccountRef(info.external_id, info.timezone, info.currency)
        ads = sum(1 for _ in connector.fetch_metadata(token, account, "ad"))
        end = date.today() - timedelta(days=2)
        print(f"advertiser {account.external_id} ({account.timezone}), {ads} ads; hourly ad-level rows ending {end}")
        print(f"{'days':>5} {'rows':>9} {'stream s':>9} {'rows/s':>8} {'stream peak MiB':>16} {'list peak MiB':>14}")
        for days in ranges:
            start = end - timedelta(days=days - 1)

            def stream(start=start, end=end):
                n = 0
                impressions = 0
                for row in connector.fetch_report(token, account, "ad", "hour", start, end):
                    n += 1
                    impressions += row.impressions
                return n

            def hold(start=start, end=end):
                rows = list(connector.fetch_report(token, account, "ad", "hour", start, end))
                return len(rows)

            n, seconds = _timed(stream)
            n_stream, stream_peak = _peak(stream)
            n_list, list_peak = _peak(hold)
            assert n == n_stream == n_list
            print(
                f"{days:>5} {n:>9} {seconds:>9.1f} {n / seconds:>8.0f} {stream_peak:>16.1f} {list_peak:>14.1f}",
                flush=True,
            )
        print(
            "(rows/s: timed without tracemalloc; peaks: a second and third pass under tracemalloc."
            " Goal: the stream peak stays flat.)"
        )
    finally:
        server.stdin.close()
        server.terminate()
        server.wait(timeout=10)
