"""Runs, task instances (clear, retry) and task logs (tail with offsets) through the API."""
from rest_framework.test import APIClient

from ingestion.models import TaskInstance
from tests.web import factories


def test_runs_list_and_detail_are_scoped(api, dag_a, dag_b):
    mine, theirs = factories.run(dag=dag_a), factories.run(dag=dag_b)
    body = api.get("/api/v1/runs/").json()
    assert [r["id"] for r in body["results"]] == [mine.pk]
    detail = api.get(f"/api/v1/runs/{mine.pk}/").json()
    assert detail["dag"] == dag_a.pk
    assert sorted(t["task_id"] for t in detail["task_instances"]) == [
        "account_meta_task", "ad_daily_insight_task", "ad_meta_task", "dummy_task"]
    assert api.get(f"/api/v1/runs/{theirs.pk}/").status_code == 404
    assert api.get(f"/api/v1/runs/?dag={dag_b.pk}").json()["count"] == 0
    assert api.get("/api/v1/runs/?state=bogus").status_code == 400


def test_task_instances_list_filter_and_scope(api, dag_a, dag_b):
    run = factories.run(dag=dag_a)
    theirs = factories.run(dag=dag_b).task_instances.first()
    body = api.get(f"/api/v1/task-instances/?run={run.pk}&task_id=ad_meta_task").json()
    assert body["count"] == 1 and body["results"][0]["task_id"] == "ad_meta_task"
    assert api.get(f"/api/v1/task-instances/{theirs.pk}/").status_code == 404
    for action in ("clear", "retry"):
        assert api.post(f"/api/v1/task-instances/{theirs.pk}/{action}/").status_code == 404


def test_log_tail_with_offsets(api, dag_a):
    ti = factories.run(dag=dag_a).task_instances.get(task_id="ad_meta_task")
    TaskInstance.objects.filter(pk=ti.pk).update(try_number=1, state="running")
    factories.log(task_instance=ti, try_number=1, chunks=["line 1\n", "line 2\n"], final=False)
    first = api.get(f"/api/v1/logs/{ti.pk}/").json()
    assert first["text"] == "line 1\nline 2\n" and first["finished"] is False and first["state"] == "running"
    assert first["try_number"] == 1
    from ingestion.models import TaskLog

    TaskLog.objects.create(task_instance=ti, try_number=1, seq=2, text="done\n", is_final=True)
    second = api.get(f"/api/v1/logs/{ti.pk}/?offset={first['next_offset']}").json()
    assert second["text"] == "done\n" and second["finished"] is True
    third = api.get(f"/api/v1/logs/{ti.pk}/?offset={second['next_offset']}").json()
    assert third["text"] == "" and third["finished"] is True


def test_log_of_a_try_that_does_not_exist_and_bad_offset(api, dag_a):
    ti = factories.run(dag=dag_a).task_instances.get(task_id="ad_meta_task")
    TaskInstance.objects.filter(pk=ti.pk).update(try_number=1)
    response = api.get(f"/api/v1/logs/{ti.pk}/?try_number=5")
    assert response.status_code == 404 and "no try 5" in response.json()["detail"]
    bad = api.get(f"/api/v1/logs/{ti.pk}/?offset=-1")
    assert bad.status_code == 400 and "offset" in bad.json()


def test_log_of_another_organization_is_404(api, dag_b):
    ti = factories.run(dag=dag_b).task_instances.first()
    factories.log(task_instance=ti, try_number=1, chunks=["secret-ish\n"], final=True)
    assert api.get(f"/api/v1/logs/{ti.pk}/").status_code == 404


def test_anonymous_cannot_read_logs(dag_a):
    ti = factories.run(dag=dag_a).task_instances.first()
    assert APIClient().get(f"/api/v1/logs/{ti.pk}/").status_code in (401, 403)
