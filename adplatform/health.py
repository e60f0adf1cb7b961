"""Health of the three stores (metadata DB, ClickHouse, the Celery broker) and whether a
scheduler is alive.

The overall status follows the stores only: a web process whose stores answer is healthy
and must not be restarted by its probe because the scheduler (another process, maybe on
another machine) is down. The scheduler's check says that separately, for monitoring and
for `manage.py healthcheck --scheduler`, the scheduler containers' probe."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connections

from adplatform.config import redact_url

CHECK_TIMEOUT_SECONDS = 5


def check_database() -> str:
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return f"{connection.vendor} ok"


def check_clickhouse() -> str:
    from reports.clickhouse.client import clickhouse_client

    version = clickhouse_client().command("SELECT version()")
    return f"clickhouse {version} ({'embedded' if settings.CLICKHOUSE.embedded else 'server'}) ok"


def check_broker() -> str:
    if settings.CELERY_BROKER_URL is None:
        return "in-process (no broker configured) ok"
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=CHECK_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)
    return f"{redact_url(settings.CELERY_BROKER_URL)} ok"


def check_scheduler() -> str:
    from ingestion.scheduler.heartbeat import scheduler_status, scheduler_timeout

    status = scheduler_status()
    if not status["alive"]:
        last = status["last_heartbeat_at"]
        since = f"the last one at {last:%Y-%m-%d %H:%M:%S} UTC" if last else "none ever"
        raise RuntimeError(
            f"no scheduler heartbeat within {scheduler_timeout().seconds} s ({since}): DAGs are not "
            "being scheduled; start `manage.py scheduler` (or runplatform)"
        )
    names = ", ".join(s.name for s in status["schedulers"])
    return f"{len(status['schedulers'])} alive ({names})"


STORES = {"database": check_database, "clickhouse": check_clickhouse, "broker": check_broker}
CHECKS = {**STORES, "scheduler": check_scheduler}


def _run(check):
    try:
        return {"status": "ok", "detail": check()}
    except Exception as exc:  # a health check reports every failure, whatever its type
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    finally:
        connections.close_all()


def platform_health() -> dict:
    """{"status": "ok"|"error", "checks": {name: {"status", "detail"|"error"}}}; status
    is the stores' (see the module docstring), "scheduler" is among the checks.

    Checks run in parallel threads with a deadline, so one hanging store (a firewalled
    broker) cannot make the endpoint itself hang.
    """
    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        futures = {name: pool.submit(_run, check) for name, check in CHECKS.items()}
        results = {}
        for name, future in futures.items():
            try:
                results[name] = future.result(timeout=CHECK_TIMEOUT_SECONDS + 2)
            except FutureTimeout:
                results[name] = {"status": "error", "error": f"no answer within {CHECK_TIMEOUT_SECONDS + 2}s"}
    healthy = all(results[name]["status"] == "ok" for name in STORES)
    return {"status": "ok" if healthy else "error", "checks": results}
