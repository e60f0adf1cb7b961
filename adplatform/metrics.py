"""Prometheus metrics at /metrics: the platform's state, read from the metadata database
when scraped.

Why state read at scrape time rather than counters kept in memory: the work happens in
many processes (web, schedulers, Celery workers on other machines), and per-process
counters would need prometheus_client's multiprocess mode and a shared directory on every
machine. The database already knows how many tries are queued or running per pool, how
old the oldest ready try is (dispatch backlog), which runs are active, how many DAGs and
credentials are in which state, and when each scheduler last beat; one scrape reads that
with queries over indexed active rows (never the history of finished ones).

Access: with METRICS_TOKEN set, `Authorization: Bearer <token>`; without it, loopback
clients only (a Prometheus on the same host, or behind a proxy that adds the token).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

ACTIVE_TASK_STATES = ("scheduled", "queued", "running", "up_for_retry")
ACTIVE_RUN_STATES = ("queued", "running")
LOOPBACK = {"127.0.0.1", "::1"}


class PlatformCollector:
    def collect(self):
        from accounts.models import AdAccount, Credential
        from ingestion.models import Dag, DagRun, SchedulerHeartbeat, TaskInstance

        now = timezone.now()
        tasks = GaugeMetricFamily(
            "adplatform_task_instances", "Task instances in an active state, per pool", labels=["state", "pool"]
        )
        for state, pool, n in (
            TaskInstance.objects.filter(state__in=ACTIVE_TASK_STATES)
            .order_by()
            .values_list("state", "pool")
            .annotate(n=Count("id"))
        ):
            tasks.add_metric([state, pool], n)
        yield tasks

        oldest = (
            TaskInstance.objects.filter(state="scheduled")
            .order_by()
            .aggregate(oldest=Min("run__logical_time"))["oldest"]
        )
        yield GaugeMetricFamily(
            "adplatform_oldest_ready_task_age_seconds",
            "Seconds since the logical time of the oldest run with a task ready but not dispatched (0: none)",
            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        )

        runs = GaugeMetricFamily("adplatform_dag_runs", "DAG runs in an active state", labels=["state"])
        counts = dict(
            DagRun.objects.filter(state__in=ACTIVE_RUN_STATES).order_by().values_list("state").annotate(n=Count("id"))
        )
        for state in ACTIVE_RUN_STATES:
            runs.add_metric([state], counts.get(state, 0))
        yield runs

        dags = GaugeMetricFamily("adplatform_dags", "DAGs, active or paused", labels=["paused"])
        by_pause = dict(Dag.objects.order_by().values_list("is_paused").annotate(n=Count("id")))
        dags.add_metric(["false"], by_pause.get(False, 0))
        dags.add_metric(["true"], by_pause.get(True, 0))
        yield dags

        beats = SchedulerHeartbeat.objects.all()
        age = GaugeMetricFamily(
            "adplatform_scheduler_heartbeat_age_seconds",
            "Seconds since a scheduler's last heartbeat",
            labels=["scheduler"],
        )
        wheel = GaugeMetricFamily(
            "adplatform_scheduler_dags", "Active DAGs in a scheduler's timing wheel", labels=["scheduler"]
        )
        repairs = CounterMetricFamily(
            "adplatform_scheduler_wheel_repairs",
            "DAGs a scheduler's reconciliation re-armed because its wheel had lost them (each one a bug)",
            labels=["scheduler"],
        )
        for beat in beats:
            age.add_metric([beat.name], (now - beat.heartbeat_at).total_seconds())
            wheel.add_metric([beat.name], beat.dags)
            repairs.add_metric([beat.name], beat.wheel_repairs)
        yield age
        yield wheel
        yield repairs

        credentials = GaugeMetricFamily(
            "adplatform_credentials", "Credentials per platform and status", labels=["platform", "status"]
        )
        for platform, status, n in (
            Credential.objects.order_by().values_list("platform", "status").annotate(n=Count("id"))
        ):
            credentials.add_metric([platform, status], n)
        yield credentials

        accounts = GaugeMetricFamily(
            "adplatform_ad_accounts", "Ad accounts per platform and status", labels=["platform", "status"]
        )
        for platform, status, n in (
            AdAccount.objects.order_by().values_list("platform", "status").annotate(n=Count("id"))
        ):
            accounts.add_metric([platform, status], n)
        yield accounts


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(PlatformCollector())


def _allowed(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    return request.META.get("REMOTE_ADDR") in LOOPBACK


@require_GET
def metrics(request):
    if not _allowed(request):
        return HttpResponse(
            "metrics: set METRICS_TOKEN and send it as a bearer token (without it, loopback only)\n",
            status=403,
            content_type="text/plain",
        )
    # The format the scraper asks for (Prometheus text or OpenMetrics), as the library negotiates it.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(REGISTRY), content_type=content_type)
