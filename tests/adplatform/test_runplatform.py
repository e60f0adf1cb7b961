"""`manage.py runplatform` serves the platform and stops cleanly on Ctrl-C."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_runplatform_serves_healthz_and_admin_and_stops_on_ctrl_c(tmp_path):
    env = dict(
        os.environ,
        ADPLATFORM_VAR_DIR=str(tmp_path),
        CLICKHOUSE_URL=f"chdb://{tmp_path}/ch",
        CLICKHOUSE_DATABASE="adplatform",
    )
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=180)
    boot = subprocess.run(
        [sys.executable, "manage.py", "bootstrap", "--no-demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "Admin user: admin  password: " in boot.stdout
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runplatform", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
                    body = json.load(response)
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stdout.read()
                assert time.time() < deadline, "runplatform did not come up in 60 s"
                time.sleep(0.3)
        assert body["status"] == "ok"
        # The embedded scheduler's heartbeat: its first comes as it starts (a second or so).
        while body["checks"]["scheduler"]["status"] != "ok":
            assert time.time() < deadline, body["checks"]["scheduler"]
            time.sleep(0.3)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
                body = json.load(response)
        assert body["checks"]["scheduler"]["detail"].startswith("1 alive (")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=10) as response:
            assert response.status == 200 and b"csrfmiddlewaretoken" in response.read()
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "adplatform is up at" in output and "stopped" in output
    with sqlite3.connect(tmp_path / "adplatform.sqlite3") as db:  # a clean stop removes its heartbeat
        assert db.execute("SELECT COUNT(*) FROM ingestion_schedulerheartbeat").fetchone() == (0,)
