"""Retention: finished runs older than the cutoff go with their task instances and logs;
running runs, recent runs and each DAG's latest run stay."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ingestion.models import DagRun, TaskInstance, TaskLog
from ingestion.services.retention import retention_cutoff, runs_purge
from tests.ingestion import factories

pytestmark = pytest.mark.django_db

# The real now: the cleanup command counts back from it.
NOW = timezone.now().replace(microsecond=0)


def _run(dag, days_ago: float, state: str, *, logs: int = 2) -> DagRun:
    run = DagRun.objects.create(dag=dag, logical_time=NOW - timedelta(days=days_ago), state=state)
    for task_id in ("a", "b"):
        ti = TaskInstance.objects.create(run=run, task_id=task_id, operator="test_ok", state="success", try_number=1)
        for seq in range(logs):
            TaskLog.objects.create(task_instance=ti, try_number=1, seq=seq, text=f"line {seq}")
    return run


@pytest.fixture
def history():
    busy, quiet = factories.dag(), factories.dag()
    runs = {
        "old_success": [_run(busy, 40 + i, "success") for i in range(3)],
        "old_failed": _run(busy, 35, "failed"),
        "old_running": _run(busy, 50, "running"),
        "recent": _run(busy, 5, "success"),
        "quiet_only_run": _run(quiet, 60, "success"),  # its DAG's latest: shown as the last state
    }
    return runs


def test_a_dry_run_counts_and_deletes_nothing(history):
    counts = runs_purge(older_than=NOW - timedelta(days=30), dry_run=True)
    assert counts == {"runs": 4, "task_instances": 8, "log_chunks": 16}
    assert DagRun.objects.count() == 7 and TaskLog.objects.count() == 28


@pytest.mark.parametrize("batch", [1000, 2])
def test_old_finished_runs_go_with_their_children(history, batch):
    counts = runs_purge(older_than=NOW - timedelta(days=30), batch=batch)

    assert counts == {"runs": 4, "task_instances": 8, "log_chunks": 16}
    kept = set(DagRun.objects.values_list("pk", flat=True))
    assert kept == {history["old_running"].pk, history["recent"].pk, history["quiet_only_run"].pk}
    assert set(TaskInstance.objects.values_list("run_id", flat=True)) == kept
    assert TaskLog.objects.count() == 3 * 2 * 2
    assert runs_purge(older_than=NOW - timedelta(days=30)) == {"runs": 0, "task_instances": 0, "log_chunks": 0}


def test_retention_setting_and_off_switch(history, settings):
    settings.INGESTION_RUN_RETENTION_DAYS = 30
    assert retention_cutoff(now=NOW) == NOW - timedelta(days=30)
    assert retention_cutoff(now=NOW, days=7) == NOW - timedelta(days=7)
    settings.INGESTION_RUN_RETENTION_DAYS = 0
    assert retention_cutoff(now=NOW) is None
    from ingestion.tasks import purge_old_runs

    assert purge_old_runs() == {} and DagRun.objects.count() == 7


def test_the_cleanup_command(history):
    out = io.StringIO()
    call_command("dags", "cleanup", "--older-than-days", "400", stdout=out)  # the fixture's runs are newer
    assert out.getvalue().startswith("deleted 0 finished runs")
    out = io.StringIO()
    call_command("dags", "cleanup", "--older-than-days", "36", "--dry-run", stdout=out)  # not the 35-day failed run
    assert (
        out.getvalue().startswith("would delete 3 finished runs")
        and "6 task instances, 12 log chunks" in out.getvalue()
    )
    assert DagRun.objects.count() == 7
    with pytest.raises(CommandError, match="more than 0"):
        call_command("dags", "cleanup", "--older-than-days", "0")


def test_the_daily_purge_is_a_periodic_task():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Purge old DAG runs")
    assert task.task == "ingestion.purge_old_runs" and task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("17", "3")
