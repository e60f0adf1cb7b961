"""`manage.py dags ...` and `templates sync`: list, show, trigger, pause/resume, backfill (resumable)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from ingestion.models import Dag, DagRun, DagTemplate
from tests.ingestion.factories import dag as make_dag
from tests.ingestion.factories import spec

pytestmark = pytest.mark.django_db(transaction=True)


def dags(*args) -> str:
    out = io.StringIO()
    call_command("dags", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_list_show_pause_resume():
    dag = make_dag(
        tasks=(
            {"task_id": "start", "is_dummy": True, "downstream_task_ids": ["a", "b"]},
            {"task_id": "a", "operator_name": "test_ok", "retries": 2, "timeout": 30},
            {"task_id": "b", "operator_name": "test_ok"},
        )
    )
    listing = dags("list")
    assert dag.dag_id in listing and "0 * * * *" in listing and "active" in listing

    shown = dags("show", dag.dag_id)
    assert "tasks (in dependency order):\n  start  [dummy]" in shown
    assert "a  [test_ok] retries=2 timeout=30s" in shown
    assert "start -> a" in shown and "start -> b" in shown

    assert dags("pause", dag.dag_id).strip() == f"{dag.dag_id} paused"
    assert Dag.objects.get(pk=dag.pk).is_paused and "paused" in dags("list")
    assert dags("resume", dag.dag_id).startswith(f"{dag.dag_id} resumed; next run ")
    assert Dag.objects.get(pk=dag.pk).is_active

    with pytest.raises(CommandError, match=r"no DAG 'nope'; `manage.py dags list` shows them"):
        dags("pause", "nope")


def test_trigger_twice_at_one_logical_time_makes_one_run():
    dag = make_dag()
    first = dags("trigger", dag.dag_id, "--logical-time", "2026-03-08T02:30:00+00:00")
    second = dags("trigger", dag.dag_id, "--logical-time", "2026-03-08T02:30:00+00:00")
    assert "2026-03-08T02:30:00+00:00: created (running)" in first
    assert "already exists" in second
    assert DagRun.objects.get().run_type == "manual"


def test_backfill_runs_every_tick_in_the_window_and_a_second_call_skips_successes():
    dag = make_dag(schedule="0 */6 * * *")
    out = dags("backfill", dag.dag_id, "--start", "2026-01-01", "--end", "2026-01-02")
    assert "5 runs; 0 already succeeded (skipped), 5 succeeded, 0 failed" in out
    runs = DagRun.objects.order_by("logical_time")
    assert [r.logical_time.hour for r in runs] == [0, 6, 12, 18, 0]
    assert {(r.run_type, r.state) for r in runs} == {("backfill", "success")}
    assert all(ti.state == "success" for r in runs for ti in r.task_instances.all())

    again = dags("backfill", dag.dag_id, "--start", "2026-01-01", "--end", "2026-01-02")
    assert "5 runs; 5 already succeeded (skipped), 0 succeeded, 0 failed" in again
    assert DagRun.objects.count() == 5 and all(ti.try_number == 1 for ti in runs[0].task_instances.all())


def test_a_failed_backfill_says_so_and_the_next_call_retries_only_what_failed():
    dag = make_dag(
        schedule="0 0 * * *",
        tasks=(
            {"task_id": "ok", "operator_name": "test_ok", "downstream_task_ids": ["flaky"]},
            {"task_id": "flaky", "operator_name": "test_flaky", "params": {"fail_times": 1}},
        ),
    )
    with pytest.raises(CommandError, match="2 runs failed; run the same command again to retry them"):
        dags("backfill", dag.dag_id, "--start", "2026-01-01", "--end", "2026-01-02")
    assert set(DagRun.objects.values_list("state", flat=True)) == {"failed"}

    out = dags("backfill", dag.dag_id, "--start", "2026-01-01", "--end", "2026-01-02")
    assert "2 runs; 0 already succeeded (skipped), 2 succeeded, 0 failed" in out
    for run in DagRun.objects.all():
        assert dict(run.task_instances.values_list("task_id", "try_number")) == {"ok": 1, "flaky": 2}


def test_backfill_refuses_an_inverted_window():
    dag = make_dag()
    with pytest.raises(CommandError, match="--end is before --start"):
        dags("backfill", dag.dag_id, "--start", "2026-01-02", "--end", "2026-01-01")


def test_dags_test_runs_one_task_in_the_foreground_and_records_nothing():
    dag = make_dag()
    out = dags("test", dag.dag_id, "a", "--logical-time", "2026-01-01T00:00:00")
    assert f"hello from {dag.dag_id}.a try 1" in out and "task succeeded" in out
    assert not DagRun.objects.exists()


def test_templates_sync_dry_run_then_sync(tmp_path):
    folder = tmp_path / "sandbox"
    folder.mkdir()
    (folder / "hourly.json").write_text(json.dumps(spec(schedule="0 * * * *")))
    out = io.StringIO()
    call_command("templates", "sync", str(tmp_path), "--dry-run", stdout=out)
    assert "sandbox/hourly" in out.getvalue() and "dry run: nothing saved" in out.getvalue()
    assert not DagTemplate.objects.exists()

    out = io.StringIO()
    call_command("templates", "sync", str(tmp_path), stdout=out)
    assert "sandbox/hourly: created (v1)" in out.getvalue()

    (folder / "broken.json").write_text(json.dumps(spec(schedule="not a cron")))
    with pytest.raises(CommandError, match="nothing saved; invalid templates"):
        call_command("templates", "sync", str(tmp_path), stdout=io.StringIO())
    assert DagTemplate.objects.count() == 1


def test_materialize_adds_a_new_templates_dags_to_existing_accounts():
    from tests.ingestion.factories import AdAccountFactory, template

    accounts = [AdAccountFactory(), AdAccountFactory(), AdAccountFactory(platform="meta")]
    template(name="later", dag_id="${account_id}_later")
    Dag.objects.filter(ad_account=accounts[1]).delete()  # saving made both; one went missing since
    out = dags("materialize", "--platform", "sandbox")
    assert out.strip() == "2 accounts materialized; 1 new DAGs"
    assert set(Dag.objects.values_list("ad_account", flat=True)) == {accounts[0].pk, accounts[1].pk}
    assert dags("materialize").strip() == "3 accounts materialized; 0 new DAGs"
