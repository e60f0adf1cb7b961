"""Benchmarks run on their own scratch data directory, never on ./var/ of `make run`."""

import os
import tempfile

_scratch = os.environ.get("BENCH_VAR_DIR") or tempfile.mkdtemp(prefix="adplatform-bench-")
os.environ["ADPLATFORM_VAR_DIR"] = _scratch
if not os.environ.get("CLICKHOUSE_URL", "").startswith(("http://", "https://")):
    os.environ["CLICKHOUSE_URL"] = f"chdb://{_scratch}/clickhouse"
os.environ.setdefault("CLICKHOUSE_DATABASE", "bench")

from adplatform.settings import *  # noqa: E402,F403
