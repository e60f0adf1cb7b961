"""/healthz: ok when every store answers, 503 naming the store that does not."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from adplatform.config import ClickHouseConfig
from reports.clickhouse.client import forget_clients

ROOT = Path(__file__).resolve().parents[2]


def _beat(seconds_ago: float, name="host-a:41:scheduler"):
    from django.utils import timezone

    from ingestion.scheduler.heartbeat import heartbeat_beat

    at = timezone.now() - timedelta(seconds=seconds_ago)
    heartbeat_beat(name=name, started_at=at, dags=3, now=at)


# transaction=True: the checks run in threads of their own, which must see the committed rows.
@pytest.mark.django_db(transaction=True)
def test_healthz_ok(client):
    _beat(2)
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "clickhouse", "broker", "scheduler"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert body["checks"]["scheduler"]["detail"] == "1 alive (host-a:41:scheduler)"


@pytest.mark.django_db(transaction=True)
def test_healthz_says_when_no_scheduler_is_alive_without_failing_the_stores(client, settings):
    settings.INGESTION_SCHEDULER_TIMEOUT_SECONDS = 30
    body = client.get("/healthz").json()
    assert body["status"] == "ok"  # the stores answer: a web probe must not restart web for it
    assert body["checks"]["scheduler"]["status"] == "error"
    assert "none ever" in body["checks"]["scheduler"]["error"]
    _beat(45)
    stale = client.get("/healthz").json()["checks"]["scheduler"]
    assert stale["status"] == "error" and "no scheduler heartbeat within 30 s (the last one at" in stale["error"]
    _beat(1, name="host-b:7:scheduler")
    assert client.get("/healthz").json()["checks"]["scheduler"] == {
        "status": "ok",
        "detail": "1 alive (host-b:7:scheduler)",
    }


@pytest.mark.django_db(transaction=True)
def test_healthcheck_command_with_scheduler_fails_without_a_live_scheduler(capsys):
    from django.core.management import call_command

    call_command("healthcheck")  # the stores are up: exit 0
    with pytest.raises(SystemExit) as exit_info:
        call_command("healthcheck", "--scheduler")
    assert exit_info.value.code == 1
    _beat(1)
    capsys.readouterr()
    call_command("healthcheck", "--scheduler")  # a live scheduler: exit 0
    assert json.loads(capsys.readouterr().out)["checks"]["scheduler"]["detail"] == "1 alive (host-a:41:scheduler)"


@pytest.mark.django_db
def test_healthz_names_an_unreachable_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://:topsecret@127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
    assert "topsecret" not in response.content.decode()


@pytest.mark.django_db
def test_healthz_names_an_unreachable_clickhouse(client, settings):
    settings.CLICKHOUSE = ClickHouseConfig(url="http://127.0.0.1:1", database="x")
    forget_clients()
    try:
        response = client.get("/healthz")
    finally:
        forget_clients()
    assert response.status_code == 503
    assert response.json()["checks"]["clickhouse"]["status"] == "error"


def test_healthcheck_command_fails_naming_the_database_when_it_is_down(tmp_path):
    env = dict(os.environ, ADPLATFORM_VAR_DIR=str(tmp_path), DATABASE_URL="mysql://root@127.0.0.1:1/adplatform")
    env.pop("CELERY_BROKER_URL", None)
    env["CLICKHOUSE_URL"] = f"chdb://{tmp_path}/ch"
    result = subprocess.run(
        [sys.executable, "manage.py", "healthcheck"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "error"
    assert report["checks"]["database"]["status"] == "error"
    assert "OperationalError" in report["checks"]["database"]["error"]
    assert report["checks"]["clickhouse"]["status"] == "ok"
