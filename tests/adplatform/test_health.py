"""/healthz: ok when every store answers, 503 naming the store that does not."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adplatform.config import ClickHouseConfig
from reports.clickhouse.client import forget_clients

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "clickhouse", "broker"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


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
    result = subprocess.run([sys.executable, "manage.py", "healthcheck"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "error"
    assert report["checks"]["database"]["status"] == "error"
    assert "OperationalError" in report["checks"]["database"]["error"]
    assert report["checks"]["clickhouse"]["status"] == "ok"
