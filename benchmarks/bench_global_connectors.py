"""Meta, Google Ads and TikTok connectors against their recordings served over real HTTP:
`python -m benchmarks global_connectors [--quick]`.

A separate process serves each platform's report endpoint in its documented shape, with rows
synthesized from the recorded ones (tests/connectors/recordings/<platform>/) so a report can be
as long as asked, and logs when each request arrived:
  Meta      GET /v25.0/act_<id>/insights, cursor pages (`paging.next` back to the server), usage headers;
  Google    POST /v24/customers/<id>/googleAds:searchStream, ONE JSON array of 1,000-row batches sent
            with chunked transfer encoding (the client must decode it batch by batch to stay flat);
  TikTok    GET /open_api/v1.3/report/integrated/get/, page/page_size pages.

1. Limits: 100 accounts (--quick: 20) fetched concurrently by 16 threads per platform, one connector
   per account, all sharing one limiter (as workers share the Redis bucket). Printed: requests,
   seconds, the documented budget, the most requests the server saw in any 1-second window, and the
   bucket's ceiling (burst + rate x 1 s). Goal: never above the ceiling.
2. Memory: one account's ad-level hourly report of 1, 5, 20 pages/batches (--quick: 1, 3, 6) of
   1,000 rows (Meta: 500-row cursor pages, so twice as many requests): tracemalloc peak while
   streaming vs. the same-run baseline of holding a list. Goal: the streaming peak stays flat.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from benchmarks.bench_cn_connectors import _free_port, _max_in_window, _peak

RECORDINGS = Path(__file__).resolve().parent.parent / "tests" / "connectors" / "recordings"

SERVE = r"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

port, recordings = int(sys.argv[1]), sys.argv[2]
def load(platform, name):
    with open(f"{recordings}/{platform}/{name}.json") as f:
        return json.load(f)
META_ROW = next(e for e in load("meta", "reports") if e.get("query", {}).get("level") == "ad" and "breakdowns" in e["query"])["body"]["data"][0]
GOOGLE_ROW = [e for e in load("google_ads", "reports") if "FROM ad_group_ad" in e["json"]["query"] and "segments.hour" in e["json"]["query"]][0]["body"][0]["results"][1]
TIKTOK_ROW = [e for e in load("tiktok", "reports") if e["query"]["data_level"] == "AUCTION_AD" and "stat_time_hour" in e["query"]["dimensions"]][0]["body"]["data"]["list"][0]
config = {"pages": 1, "rows": None}
arrivals = {"meta": [], "google_ads": [], "tiktok": []}
lock = threading.Lock()
USAGE = json.dumps({"9900": [{"type": "ads_insights", "call_count": 3, "total_cputime": 2, "total_time": 2, "estimated_time_to_regain_access": 0}]})

def copy(row):
    return json.loads(json.dumps(row))

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
    def chunk(self, data: bytes):
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
    def do_GET(self):
        parts = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/_stats":
            with lock:
                return self.answer(arrivals)
        if parts.path.startswith("/v25.0/"):
            with lock:
                arrivals["meta"].append(time.time())
            size = int(q["limit"]); page = int(q.get("after") or 1)
            total = config["pages"] * (config["rows"] or size)
            n = max(0, min(size, total - (page - 1) * size))
            rows = []
            for i in range((page - 1) * size, (page - 1) * size + n):
                row = copy(META_ROW)
                row["ad_id"] = str(120200000000000000 + i // 24)
                row["hourly_stats_aggregated_by_advertiser_time_zone"] = f"{i % 24:02d}:00:00 - {i % 24:02d}:59:59"
                if q.get("level") != "ad":
                    for key in ("ad_id", "adset_id", "campaign_id"):
                        row.pop(key, None)
                    if "breakdowns" not in q:
                        row.pop("hourly_stats_aggregated_by_advertiser_time_zone")
                rows.append(row)
            body = {"data": rows, "paging": {"cursors": {"before": str(page), "after": str(page + 1)}}}
            if page * size < total:
                body["paging"]["next"] = f"http://127.0.0.1:{port}{parts.path}?" + urlencode({**q, "after": page + 1})
            return self.answer(body, [("X-Business-Use-Case-Usage", USAGE), ("X-App-Usage", '{"call_count": 1, "total_cputime": 1, "total_time": 1}')])
        with lock:
            arrivals["tiktok"].append(time.time())
        size, page = int(q["page_size"]), int(q["page"])
        dims = json.loads(q["dimensions"])
        total = config["pages"] * (config["rows"] or size)
        n = max(0, min(size, total - (page - 1) * size))
        rows = []
        for i in range((page - 1) * size, (page - 1) * size + n):
            row = copy(TIKTOK_ROW)
            hour = f"2024-05-01 {i % 24:02d}:00:00" if dims[1] == "stat_time_hour" else "2024-05-01 00:00:00"
            row["dimensions"] = {dims[0]: str(1790000000000000 + i // 24) if dims[0] != "advertiser_id" else q["advertiser_id"], dims[1]: hour}
            rows.append(row)
        self.answer({"code": 0, "message": "OK", "request_id": "bench", "data": {"list": rows, "page_info": {
            "page": page, "page_size": size, "total_number": total, "total_page": -(-total // size)}}})
    def do_POST(self):
        parts = urlsplit(self.path)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if parts.path == "/_config":
            config.update(body)
            return self.answer({"ok": True})
        with lock:
            arrivals["google_ads"].append(time.time())
        query = body["query"]
        per_batch = config["rows"] or 1000
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.chunk(b"[")
        for b in range(config["pages"]):
            rows = []
            for i in range(b * per_batch, (b + 1) * per_batch):
                row = copy(GOOGLE_ROW)
                row["adGroupAd"]["ad"]["id"] = str(600000000000 + i // 24)
                row["segments"] = {"date": "2024-05-01", "hour": i % 24} if "segments.hour" in query else {"date": "2024-05-01"}
                if "FROM ad_group_ad" not in query:
                    row.pop("adGroupAd")
                    row["customer"]["id"] = parts.path.split("/")[3]
                rows.append(row)
            batch = json.dumps({"results": rows, "fieldMask": "", "requestId": f"bench-{b}"}).encode()
            self.chunk((b"," if b else b"") + batch)
        self.chunk(b"]")
        self.wfile.write(b"0\r\n\r\n")

server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"""


def main(argv: list[str]) -> None:
    import requests

    from connectors.base import AccountRef, AppConfig, TokenSet
    from connectors.google_ads.connector import GoogleAdsConnector
    from connectors.http import LocalRateLimiter
    from connectors.meta.connector import MetaConnector
    from connectors.tiktok.connector import TikTokConnector

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
        token = TokenSet(access_token="bench-token")
        platforms = {
            "meta": (
                lambda limiter: MetaConnector(
                    AppConfig(client_id="1712345"), endpoints={"graph": f"{url}/v25.0"}, limiter=limiter
                ),
                "America/Los_Angeles",
                "USD",
            ),
            "google_ads": (
                lambda limiter: GoogleAdsConnector(
                    AppConfig(client_id="g", extra={"developer_token": "D"}),
                    endpoints={"api": f"{url}/v24"},
                    limiter=limiter,
                ),
                "America/New_York",
                "USD",
            ),
            "tiktok": (
                lambda limiter: TikTokConnector(
                    AppConfig(client_id="7300000000000000001", client_secret="s"),
                    endpoints={"api": f"{url}/open_api/v1.3"},
                    limiter=limiter,
                ),
                "America/Los_Angeles",
                "USD",
            ),
        }
        print(f"1. {accounts} accounts fetched concurrently (16 threads), one shared limiter per platform")
        print(
            f"{'platform':>12} {'requests':>9} {'seconds':>8} {'budget/s':>9} {'max in 1 s':>11} {'ceiling':>8} "
            f"{'rows':>6}"
        )
        for name, (make, tz, currency) in platforms.items():
            limiter = LocalRateLimiter()
            spec = make(limiter).spec
            before = len(requests.get(f"{url}/_stats", timeout=5).json()[name])

            def one(n, make=make, limiter=limiter, tz=tz, currency=currency):
                connector = make(limiter)
                return sum(
                    1
                    for _ in connector.fetch_report(
                        token, AccountRef(str(1000000000 + n), tz, currency), "account", "day", day, day
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
        print(
            f"{'platform':>12} {'pages':>6} {'rows':>7} {'requests':>9} {'rows/s':>8} {'stream peak':>12} {'list peak':>10}"
        )
        unlimited = LocalRateLimiter()
        for name, (make, tz, currency) in platforms.items():
            connector = make(unlimited)
            connector.http.rate = None  # memory, not limits, is measured here
            account = AccountRef("1000000001", tz, currency)
            for pages in page_counts:
                rows_per_page = 500 if name == "meta" else 1000  # Meta pages are 500 rows (the connector's limit)
                requests.post(
                    f"{url}/_config", json={"pages": pages * (1000 // rows_per_page), "rows": rows_per_page}, timeout=5
                )
                before = len(requests.get(f"{url}/_stats", timeout=5).json()[name])

                def stream(connector=connector, account=account):
                    return sum(1 for _ in connector.fetch_report(token, account, "ad", "hour", day, day))

                def hold(connector=connector, account=account):
                    return len(list(connector.fetch_report(token, account, "ad", "hour", day, day)))

                started = time.perf_counter()
                n = stream()
                seconds = time.perf_counter() - started
                calls = len(requests.get(f"{url}/_stats", timeout=5).json()[name]) - before
                n_stream, stream_peak = _peak(stream)
                n_list, list_peak = _peak(hold)
                assert n == n_stream == n_list == pages * 1000, (n, n_stream, n_list)
                print(
                    f"{name:>12} {pages:>6} {n:>7} {calls:>9} {n / seconds:>8.0f} {stream_peak:>12.1f} "
                    f"{list_peak:>10.1f}",
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
