"""The task body both systems run, in their own worker: a fixed CPU-free wait, then a
fixed batch of rows written to the one ClickHouse table of the benchmark (through the
sink process, which owns the chdb path: an embedded ClickHouse opens in one process only).

Standard library only: Airflow's task processes import it from its DAG folder.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request


def work(system: str, dag_id: str, task_id: str, run: str) -> int:
    time.sleep(float(os.environ.get("E2E_WAIT_SECONDS", "0.01")))
    rows = int(os.environ.get("E2E_ROWS", "100"))
    body = json.dumps({"system": system, "dag_id": dag_id, "task_id": task_id, "run": run, "rows": rows}).encode()
    request = urllib.request.Request(
        os.environ["E2E_SINK_URL"], data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return rows
