"""/metrics: the platform's state in the Prometheus text format, for loopback or a token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ingestion.models import DagRun, TaskInstance
from ingestion.scheduler.heartbeat import heartbeat_beat
from tests.ingestion import (
    factories,
    sample_operators,  # noqa: F401 - registers test_ok, the factories' operator
)

pytestmark = pytest.mark.django_db


def _samples(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_metrics_count_active_work_and_the_dispatch_backlog(client):
    dag, paused = factories.dag(), factories.dag()
    paused.is_paused = True
    paused.save()
    now = timezone.now()
    running = DagRun.objects.create(dag=dag, logical_time=now - timedelta(minutes=10), state="running")
    DagRun.objects.create(dag=dag, logical_time=now - timedelta(minutes=5), state="queued")
    DagRun.objects.create(dag=dag, logical_time=now - timedelta(days=1), state="success")
    for task_id, state, pool in (
        ("a", "scheduled", "meta"),
        ("b", "scheduled", "meta"),
        ("c", "running", "meta"),
        ("d", "queued", "baidu"),
        ("e", "success", "meta"),
    ):
        TaskInstance.objects.create(run=running, task_id=task_id, operator="test_ok", state=state, pool=pool)
    heartbeat_beat(name="host:1:scheduler", started_at=now, dags=2, now=now - timedelta(seconds=3))

    m = _samples(client.get("/metrics", REMOTE_ADDR="127.0.0.1"))

    assert m[("adplatform_task_instances", (("pool", "meta"), ("state", "scheduled")))] == 2
    assert m[("adplatform_task_instances", (("pool", "meta"), ("state", "running")))] == 1
    assert m[("adplatform_task_instances", (("pool", "baidu"), ("state", "queued")))] == 1
    assert not any(name == "adplatform_task_instances" and dict(labels)["state"] == "success" for name, labels in m)
    assert 600 <= m[("adplatform_oldest_ready_task_age_seconds", ())] < 660  # the run's logical time, 10 min ago
    assert m[("adplatform_dag_runs", (("state", "running"),))] == 1
    assert m[("adplatform_dag_runs", (("state", "queued"),))] == 1
    assert m[("adplatform_dags", (("paused", "false"),))] == 1 and m[("adplatform_dags", (("paused", "true"),))] == 1
    assert 3 <= m[("adplatform_scheduler_heartbeat_age_seconds", (("scheduler", "host:1:scheduler"),))] < 60
    assert m[("adplatform_scheduler_dags", (("scheduler", "host:1:scheduler"),))] == 2


def test_no_backlog_is_zero_and_openmetrics_is_negotiated(client):
    assert _samples(client.get("/metrics", REMOTE_ADDR="::1"))[("adplatform_oldest_ready_task_age_seconds", ())] == 0
    om = client.get("/metrics", REMOTE_ADDR="::1", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert om["Content-Type"].startswith("application/openmetrics-text") and om.content.rstrip().endswith(b"# EOF")


def test_metrics_need_loopback_or_the_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403  # with a token, always the token
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    assert client.post("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 405
