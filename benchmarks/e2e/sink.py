"""`python -m benchmarks.e2e.sink <chdb path> <port>`: owns the benchmark's ClickHouse table
(chdb, one process per path) and inserts each task's batch of rows (group commit: a
request is answered once its rows are in the table); GET /count?system=
answers how many rows a system wrote."""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import clickhouse_connect

COLUMNS = ["system", "dag_id", "task_id", "run", "n", "written_at"]


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    client.command(
        "CREATE TABLE IF NOT EXISTS e2e_rows (system LowCardinality(String), dag_id String, task_id String, "
        "run String, n UInt32, written_at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY (system, dag_id)"
    )
    lock = threading.Lock()  # one chdb session: one statement at a time
    pending: list[tuple[list, threading.Event]] = []
    arrived = threading.Condition()

    def flush_forever() -> None:
        # Group commit: every batch waiting is inserted in one statement, then each
        # request is answered; an insert per request would make the sink the bottleneck.
        while True:
            with arrived:
                while not pending:
                    arrived.wait()
                batches = pending[:]
                del pending[:]
            rows = [row for batch, _ in batches for row in batch]
            with lock:
                client.insert("e2e_rows", rows, column_names=COLUMNS)
            for _, written in batches:
                written.set()

    threading.Thread(target=flush_forever, name="flush", daemon=True).start()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            now = datetime.now(UTC)
            rows = [
                [batch["system"], batch["dag_id"], batch["task_id"], batch["run"], i, now]
                for i in range(int(batch["rows"]))
            ]
            written = threading.Event()
            with arrived:
                pending.append((rows, written))
                arrived.notify()
            written.wait()
            self._answer({"written": len(rows)})

        def do_GET(self) -> None:
            system = parse_qs(urlsplit(self.path).query).get("system", [""])[0]
            with lock:
                count = client.query("SELECT count() FROM e2e_rows WHERE system = {s:String}", {"s": system})
            self._answer({"rows": count.result_rows[0][0]})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
