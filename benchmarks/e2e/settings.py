"""Settings of our processes in the e2e benchmark: the benchmark scratch data directory
(BENCH_VAR_DIR, shared with the parent) and the benchmark's operator."""

from benchmarks.settings import *  # noqa: F403

INGESTION_OPERATOR_MODULES = ["reports.operators", "benchmarks.e2e.operator"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
