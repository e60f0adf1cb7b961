"""Ocean Engine, Kuaishou and Baidu connectors against their recordings served over real HTTP:
`python -m benchmarks cn_connectors [--quick]`.

A separate process serves each platform's report endpoint in its documented shape, pages
synthesized from the recorded rows (tests/connectors/recordings/<platform>/) so a report can
be as long as asked, and logs when each request arrived.

1. Limits: 100 accounts (--quick: 20) fetched concurrently by 16 threads per platform, one
   connector per account, all sharing the deployment's limiter (as workers share the Redis
   bucket). Printed: requests, seconds, the platform's documented budget, and the most
   requests the server saw in any 1-second window, next to the bucket's ceiling (burst +
   rate x 1 s). Goal: never above the ceiling.
2. Memory: one account's ad-level hourly report of 1, 5, 20 pages (--quick: 1, 3, 6) of 1,000
   rows: tracemalloc peak while streaming vs. the same-run baseline of holding a list.
   Goal: the streaming peak stays flat as pages grow.
"""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

RECORDINGS = Path(__file__).resolve().parent.parent / "tests" / "connectors" / "recordings"

SERVE = r"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

recordings = sys.argv[2]
def load(platform, name):
    with open(f"{recordings}/{platform}/{name}.json") as f:
        return json.load(f)
OE_ROW = load("oceanengine", "report_custom")[0]["body"]["data"]["rows"][0]
KS_ROW = next(e for e in load("kuaishou", "reports") if e["path"].endswith("creative_report"))["body"]["data"]["details"][0]
BD_ROW = next(e for e in load("baidu", "reports") if e["json"]["body"]["reportType"] == 2665235)["body"]["body"]["data"]["rows"][0]
OE_CONFIG = load("oceanengine", "report_config")[0]["body"]
BD_ACCOUNTS = load("baidu", "accounts")
config = {"pages": 1, "rows": None}  # rows per page (None: the page size asked for)
arrivals = {"oceanengine": [], "kuaishou": [], "baidu": []}
lock = threading.Lock()

def rows(template, start, count, key, dims):
    out = []
    for i in range(start, start + count):
        row = json.loads(json.dumps(template))
        dims(row, i)
        out.append(row)
    return out

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == "/_stats":
            with lock:
                return self.answer(arrivals)
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with lock:
            arrivals["oceanengine"].append(time.time())
        if parts.path.endswith("/report/custom/config/get/"):  # the metrics the custom report offers
            return self.answer(OE_CONFIG)
        page, size = int(q["page"]), int(q["page_size"])
        dims = json.loads(q["dimensions"])
        total = config["pages"] * (config["rows"] or size)
        hour = dims[-1]
        def fill(row, i):
            row["dimensions"] = {dims[0]: str(7300000000000000 + i // 24) if len(dims) > 1 else None, hour: f"2024-05-01 {i % 24:02d}:00:00"}
            if len(dims) == 1:
                row["dimensions"] = {hour: "2024-05-01" if hour == "stat_time_day" else f"2024-05-01 {i % 24:02d}:00:00"}
        n = max(0, min(size, total - (page - 1) * size))
        self.answer({"code": 0, "message": "OK", "request_id": "bench", "data": {
            "rows": rows(OE_ROW, (page - 1) * size, n, None, fill),
            "page_info": {"page": page, "page_size": size, "total_number": total, "total_page": -(-total // size)}}})
    def do_POST(self):
        parts = urlsplit(self.path)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if parts.path == "/_config":
            config.update(body)
            return self.answer({"ok": True})
        if parts.path.startswith("/rest/openapi/"):
            with lock:
                arrivals["kuaishou"].append(time.time())
            page, size = body["page"], body["page_size"]
            total = config["pages"] * (config["rows"] or size)
            def fill(row, i):
                row["creative_id"] = 7000000 + i // 24
                row["stat_hour"] = i % 24
                if parts.path.endswith("program_creative_report"):  # programmatic creatives: by unit
                    row["unit_id"] = row.pop("creative_id")
                elif not parts.path.endswith("creative_report"):
                    row.pop("creative_id", None)
                    if parts.path.endswith("account_report"):
                        row["stat_hour"] = i % 24 if body["temporal_granularity"] == "HOURLY" else None
            n = max(0, min(size, total - (page - 1) * size))
            return self.answer({"code": 0, "message": "OK", "data": {"total_count": total, "details": rows(KS_ROW, (page - 1) * size, n, None, fill)}})
        with lock:
            arrivals["baidu"].append(time.time())
        if parts.path.endswith("OpenApiReportService/getReportData"):
            b = body["body"]
            size = b["rowCount"] if config["pages"] > 1 else 1000
            total = config["pages"] * (config["rows"] or 1000)
            def fill(row, i):
                row["ideaId"] = 303000000 + i // 24
                row["date"] = f"2024-05-01 {i % 24:02d}:00" if b["timeUnit"] == "HOUR" else "2024-05-01"
                if b["reportType"] != 2665235:
                    row.pop("ideaId")
            start = b["startRow"]
            n = max(0, min(1000, total - start))
            return self.answer({"header": {"status": 0, "desc": "success", "failures": []}, "body": {"data":
                {"rowCount": n, "totalRowCount": total, "rows": rows(BD_ROW, start, n, None, fill)}}})
        for entry in BD_ACCOUNTS:  # sign-in and account-manager calls: the recorded answers
            want = entry.get("json", {}).get("header", {})
            if entry["path"] == parts.path and all(body["header"].get(k) == v for k, v in want.items()):
                return self.answer(entry["body"])
        self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak(consume) -> tuple[int, float]:
    gc.collect()
    tracemalloc.start()
    n = consume()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return n, peak / 2**20


def _max_in_window(stamps: list[float], window: float = 1.0) -> int:
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] > window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def main(argv: list[str]) -> None:
    import requests

    from connectors.baidu.connector import BaiduConnector
    from connectors.base import AccountRef, AppConfig, TokenSet
    from connectors.http import LocalRateLimiter
    from connectors.kuaishou.connector import KuaishouConnector
    from connectors.oceanengine.connector import OceanEngineConnector

    quick = "--quick" in argv
    accounts = 20 if quick else 100
    page_counts = (1, 3, 6) if quick else (1, 5, 20)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port), str(RECORDINGS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}"
        requests.post(f"{url}/_config", json={"pages": 1, "rows": 1}, timeout=5)  # part 1: one row per account
        day = date(2024, 5, 1)
        platforms = {
            "oceanengine": (
                lambda limiter: OceanEngineConnector(
                    # the synchronous pages are what is measured: no async report tasks
                    AppConfig(client_id="1712345678901234", client_secret="s", extra={"async_report_rows": 10**9}),
                    endpoints={"api": f"{url}/open_api"},
                    limiter=limiter,
                ),
                TokenSet(access_token="bench-token"),
                "account",
                "day",
            ),
            "kuaishou": (
                lambda limiter: KuaishouConnector(
                    AppConfig(client_id="165900000", client_secret="s"),
                    endpoints={"api": f"{url}/rest/openapi"},
                    limiter=limiter,
                ),
                TokenSet(access_token="bench-token"),
                "account",
                "day",
            ),
            "baidu": (
                lambda limiter: BaiduConnector(
                    AppConfig(client_id="bench", extra={"developer_token": "t", "async_report_rows": 10**9}),
                    endpoints={"api": f"{url}/json/sms/service", "feed": f"{url}/json/feed/v1"},
                    limiter=limiter,
                ),
                TokenSet(secrets={"username": "baidu-demo", "password": "pw", "token": "t", "user_id": "30000001"}),
                "account",
                "day",
            ),
        }
        print(f"1. {accounts} accounts fetched concurrently (16 threads), one shared limiter per platform")
        print(
            f"{'platform':>12} {'requests':>9} {'seconds':>8} {'budget/s':>9} {'max in 1 s':>11} {'ceiling':>8} "
            f"{'rows':>6}"
        )
        for name, (make, token, level, granularity) in platforms.items():
            limiter = LocalRateLimiter()
            spec = make(limiter).spec
            before = len(requests.get(f"{url}/_stats", timeout=5).json()[name])

            def one(n, make=make, token=token, level=level, granularity=granularity, name=name, limiter=limiter):
                connector = make(limiter)
                account_id = "30000001" if name == "baidu" else str(1760000000000000 + n)
                return sum(
                    1
                    for _ in connector.fetch_report(
                        token, AccountRef(account_id, "Asia/Shanghai", "CNY"), level, granularity, day, day
                    )
                )

            started = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                rows = sum(pool.map(one, range(accounts)))
            seconds = time.perf_counter() - started
            stamps = requests.get(f"{url}/_stats", timeout=5).json()[name][before:]
            rate = spec.rate_limit_requests / spec.rate_limit_period
            ceiling = spec.rate_limit_requests + rate * 1.0
            worst = _max_in_window(stamps)
            verdict = "ok" if worst <= ceiling else "OVER"
            print(
                f"{name:>12} {len(stamps):>9} {seconds:>8.1f} {rate:>9.0f} {worst:>11} {ceiling:>8.0f} {rows:>6}  "
                f"{verdict}",
                flush=True,
            )

        print("\n2. one account, ad-level hourly report of N pages x 1,000 rows: peak MiB streaming vs. holding a list")
        print(f"{'platform':>12} {'pages':>6} {'rows':>7} {'rows/s':>8} {'stream peak':>12} {'list peak':>10}")
        unlimited = LocalRateLimiter()
        for name, (make, token, _, _) in platforms.items():
            connector = make(unlimited)
            connector.http.rate = None  # memory, not limits, is measured here
            level = "ad"
            account = AccountRef("30000001" if name == "baidu" else "1760000000000001", "Asia/Shanghai", "CNY")
            for pages in page_counts:
                requests.post(f"{url}/_config", json={"pages": pages, "rows": 1000}, timeout=5)

                def stream(connector=connector, account=account, token=token, level=level):
                    return sum(1 for _ in connector.fetch_report(token, account, level, "hour", day, day))

                def hold(connector=connector, account=account, token=token, level=level):
                    return len(list(connector.fetch_report(token, account, level, "hour", day, day)))

                started = time.perf_counter()
                n = stream()
                seconds = time.perf_counter() - started
                n_stream, stream_peak = _peak(stream)
                n_list, list_peak = _peak(hold)
                assert n == n_stream == n_list, (n, n_stream, n_list)
                print(
                    f"{name:>12} {pages:>6} {n:>7} {n / seconds:>8.0f} {stream_peak:>12.1f} {list_peak:>10.1f}",
                    flush=True,
                )
        print(
            "(ceiling = burst + rate x 1 s of the token bucket; peaks under tracemalloc. Goals: never over the ceiling;"
            " the stream peak stays flat while the list's grows.)"
        )
    finally:
        server.stdin.close()
        server.terminate()
        server.wait(timeout=10)
