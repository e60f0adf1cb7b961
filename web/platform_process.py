"""Start `manage.py runplatform` in a subprocess on a scratch data directory.

Used by the browser tests, the dashboard benchmark and scripts/schemathesis.sh: they
all need the real embedded platform (waitress, scheduler, workers) on a free port,
migrated and bootstrapped, and must never touch the developer's ./var/.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PlatformProcess:
    """`with PlatformProcess(var_dir) as p:` migrates, bootstraps and serves; p.url, p.password."""

    def __init__(
        self,
        var_dir: Path,
        *,
        port: int | None = None,
        demo: bool = True,
        extra_env: dict | None = None,
        threads: int = 8,
        log_path: Path | None = None,
    ):
        self.var_dir = Path(var_dir)
        self.port = port or free_port()
        self.demo = demo
        self.threads = threads
        self.env = dict(
            os.environ,
            ADPLATFORM_VAR_DIR=str(self.var_dir),
            CLICKHOUSE_URL=f"chdb://{self.var_dir}/clickhouse",
            CLICKHOUSE_DATABASE="adplatform",
            DJANGO_SETTINGS_MODULE="adplatform.settings",
            # the built-in sandbox's endpoints are "{public_url}/sandbox": this server's own
            PUBLIC_URL=f"http://127.0.0.1:{self.port}",
        )
        # The embedded default: SQLite, chdb, in-process tasks (a test run's settings must not leak in).
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
            self.env.pop(name, None)
        self.env.update(extra_env or {})
        self.log_path = log_path or self.var_dir / "runplatform.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def password(self) -> str:
        return (self.var_dir / "admin_password").read_text().strip()

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def prepare(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("bootstrap", *([] if self.demo else ["--no-demo"]))

    def start(self, *, timeout: float = 90) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child writes to it while it runs)
        self.proc = subprocess.Popen(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", "runplatform", "--port", str(self.port), "--threads", str(self.threads)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=10) as response:  # noqa: S310 (http to our child)
                    if json.load(response).get("status") == "ok":
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"runplatform exited ({self.proc.returncode}):\n{self.log_path.read_text()[-4000:]}")
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(
                    f"runplatform did not come up in {timeout:.0f} s:\n{self.log_path.read_text()[-4000:]}"
                )
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> PlatformProcess:
        self.prepare()
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
